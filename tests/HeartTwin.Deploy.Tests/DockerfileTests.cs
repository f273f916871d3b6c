using HeartTwin.Testing;

namespace HeartTwin.Deploy.Tests;

/// <summary>The Dockerfile stays plain and correct without a Docker engine: official images, non-root, and the same publish CI runs.</summary>
public sealed class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(SharedTestPaths.RepoRoot, "deploy", "docker", "Dockerfile"));

    [Fact]
    public void It_builds_on_the_official_sdk_and_runs_on_the_official_aspnet_image_as_a_non_root_user()
    {
        var from = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        // The official node image only lends Node.js 20 to the build stage (the dashboard's front end); nothing of it ships.
        from.Count.ShouldBe(3);
        from[0].ShouldStartWith("FROM node:20");
        from[1].ShouldStartWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build");
        from[2].ShouldStartWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0");
        Lines.ShouldNotContain(l => l.StartsWith("COPY --from=node", StringComparison.Ordinal) && l.Contains("/app", StringComparison.Ordinal));
        var users = Lines.Where(l => l.StartsWith("USER ", StringComparison.Ordinal)).ToList();
        users.ShouldHaveSingleItem().ShouldBe("USER $APP_UID");
        Array.FindLastIndex(Lines, l => l.StartsWith("USER ", StringComparison.Ordinal))
            .ShouldBeGreaterThan(Array.FindLastIndex(Lines, l => l.StartsWith("RUN ", StringComparison.Ordinal)), "USER must come after the last RUN of the final stage");
    }

    [Fact]
    public void Its_default_host_exists_and_it_publishes_as_the_ci_script_does()
    {
        string host = Lines.First(l => l.StartsWith("ARG HOST=", StringComparison.Ordinal))["ARG HOST=".Length..];
        File.Exists(Path.Combine(SharedTestPaths.RepoRoot, "src", "Hosts", host, host + ".csproj")).ShouldBeTrue(host);

        string publish = Lines.Single(l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal));
        publish.ShouldContain("-c Release -o /app");
        string script = File.ReadAllText(Path.Combine(SharedTestPaths.RepoRoot, "scripts", "publish-hosts.sh"));
        script.ShouldContain("dotnet publish \"$csproj\" -c Release -o \"$out/$host\"");
    }

    [Fact]
    public void The_build_context_keeps_what_the_build_copies()
    {
        var ignored = File.ReadAllLines(Path.Combine(SharedTestPaths.RepoRoot, ".dockerignore"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.TrimEnd('/')).ToHashSet(StringComparer.Ordinal);
        foreach (var copied in Lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal))
                     .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]))
        {
            ignored.ShouldNotContain(copied.TrimEnd('/'), $".dockerignore excludes {copied}, which the Dockerfile copies");
            (File.Exists(Path.Combine(SharedTestPaths.RepoRoot, copied)) || Directory.Exists(Path.Combine(SharedTestPaths.RepoRoot, copied)))
                .ShouldBeTrue($"the Dockerfile copies {copied}, which is not in the repository");
        }
    }
}
