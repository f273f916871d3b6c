using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace HeartTwin.Dashboard;

/// <summary>One built file of the dashboard, held in memory with what an HTTP answer needs.</summary>
/// <param name="Path">Path under the dashboard root, with forward slashes ("index.html", "assets/index-abc.js").</param>
/// <param name="Content">The bytes.</param>
/// <param name="ContentType">The media type.</param>
/// <param name="ETag">A strong validator (quoted hash of the content).</param>
internal sealed record DashboardAsset(string Path, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The dashboard's files, read once from this assembly's embedded resources ("dashboard/…", put there by the build from
/// client/dist). Keeping them in the assembly means the host serves them with nothing to deploy beside it.
/// </summary>
internal sealed class DashboardAssets
{
    private const string Prefix = "dashboard/";

    private readonly FrozenDictionary<string, DashboardAsset> files;

    public DashboardAssets()
        : this(typeof(DashboardAssets).Assembly)
    {
    }

    internal DashboardAssets(Assembly assembly)
    {
        var types = new FileExtensionContentTypeProvider();
        var found = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames())
        {
            // MSBuild writes the resource's relative folder with the platform's separator.
            string normalised = name.Replace('\\', '/');
            if (!normalised.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] content = copy.ToArray();
            string path = normalised[Prefix.Length..];
            string type = types.TryGetContentType(path, out var t) ? t : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type is "application/javascript" or "text/javascript")
            {
                type += "; charset=utf-8";
            }

            found[path] = new DashboardAsset(path, content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"");
        }

        files = found.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Whether the build embedded the dashboard (false when it was built with SkipDashboardBuild).</summary>
    public bool IsBuilt => files.ContainsKey("index.html");

    public int Count => files.Count;

    public DashboardAsset? Find(string path) => files.GetValueOrDefault(path);
}
