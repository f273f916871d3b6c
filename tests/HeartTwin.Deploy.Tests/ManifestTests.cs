using System.Diagnostics;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace HeartTwin.Deploy.Tests;

/// <summary>The Kubernetes manifests agree with themselves and with the code: what one part names, another part provides.</summary>
public sealed partial class ManifestTests
{
    private static readonly List<Doc> BaseDocs = Manifests.Resources(Manifests.Base);
    private static readonly YamlMappingNode BaseKustomization = Manifests.Kustomization(Manifests.Base);

    public static TheoryData<string> Kustomizations() => [.. new[] { Manifests.Base }.Concat(Manifests.Overlays).Select(d => Path.GetRelativePath(Manifests.K8s, d))];

    [Fact]
    public void Every_yaml_file_of_the_deployment_and_the_policy_parses()
    {
        var files = Manifests.YamlFiles(Path.Combine(Manifests.Root, "deploy")).Concat(Manifests.YamlFiles(Path.Combine(Manifests.Root, "policy"))).ToList();
        files.Count.ShouldBeGreaterThan(15);
        foreach (var file in files)
        {
            Should.NotThrow(() => Manifests.Load(file), file);
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void A_kustomization_names_only_files_that_exist(string relative)
    {
        string dir = Path.Combine(Manifests.K8s, relative);
        var k = Manifests.Kustomization(dir);
        var named = k.Seq("resources").ToList();
        named.AddRange(k.Maps("patches").Select(p => p.Str("path")).OfType<string>());
        foreach (var generator in k.Maps("configMapGenerator").Concat(k.Maps("secretGenerator")))
        {
            named.AddRange(generator.Seq("files").Select(f => f.Contains('=', StringComparison.Ordinal) ? f.Split('=', 2)[1] : f));
        }

        named.ShouldNotBeEmpty();
        foreach (var path in named)
        {
            string full = Path.GetFullPath(Path.Combine(dir, path));
            (File.Exists(full) || File.Exists(Path.Combine(full, "kustomization.yaml"))).ShouldBeTrue($"{relative}/kustomization.yaml names {path}, which does not exist");
        }

        // Every manifest in the folder is used: a file nobody lists is a file nobody applies.
        var used = named.Select(p => Path.GetFullPath(Path.Combine(dir, p))).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Manifests.YamlFiles(dir).Where(f => Path.GetFileName(f) != "kustomization.yaml" && Path.GetDirectoryName(f) == dir))
        {
            used.ShouldContain(file, $"{file} is in {relative} but its kustomization does not list it");
        }
    }

    [Fact]
    public void Every_workload_selects_its_own_pods()
    {
        var workloads = Manifests.Workloads(BaseDocs).ToList();
        workloads.Count.ShouldBe(11); // 8 blocks, the gateway, Mosquitto, PostgreSQL
        foreach (var w in workloads)
        {
            w.Root.Map("spec")!.Map("selector")!.Selects(Manifests.TemplateLabels(w)).ShouldBeTrue($"{w}: selector does not match its template's labels");
        }
    }

    [Fact]
    public void Every_service_selects_a_workload_and_targets_one_of_its_container_ports()
    {
        var services = BaseDocs.Where(d => d.Kind == "Service").ToList();
        services.Count.ShouldBeGreaterThanOrEqualTo(9);
        foreach (var s in services)
        {
            var selector = s.Root.Map("spec")!.Map("selector")!;
            var targets = Manifests.Workloads(BaseDocs).Where(w => selector.Selects(Manifests.TemplateLabels(w))).ToList();
            targets.Count.ShouldBe(1, $"{s} selects {targets.Count} workloads");
            var ports = Manifests.Containers(targets[0]).SelectMany(c => c.Maps("ports")).ToList();
            foreach (var p in s.Root.Map("spec")!.Maps("ports"))
            {
                string target = p.Str("targetPort") ?? p.Str("port")!;
                ports.Any(cp => cp.Str("name") == target || cp.Str("containerPort") == target)
                    .ShouldBeTrue($"{s}: targetPort {target} is no container port of {targets[0]}");
            }
        }

        foreach (var set in BaseDocs.Where(d => d.Kind == "StatefulSet"))
        {
            string governing = set.Root.Map("spec")!.Str("serviceName")!;
            services.ShouldContain(s => s.Name == governing, $"{set}: serviceName {governing} is no Service");
        }
    }

    [Fact]
    public void Every_config_map_and_secret_a_pod_uses_is_generated_with_the_keys_it_reads()
    {
        var configMaps = Manifests.Generated(BaseKustomization, "configMapGenerator");
        var secrets = Manifests.Generated(BaseKustomization, "secretGenerator");
        int references = 0;
        foreach (var w in Manifests.Workloads(BaseDocs))
        {
            foreach (var node in Manifests.PodSpec(w).AllMaps())
            {
                if (node.Map("configMapKeyRef") is { } cmk)
                {
                    configMaps.ShouldContainKey(cmk.Str("name")!, $"{w}");
                    configMaps[cmk.Str("name")!].ShouldContain(cmk.Str("key")!, $"{w}");
                    references++;
                }

                if (node.Map("secretKeyRef") is { } sk)
                {
                    secrets.ShouldContainKey(sk.Str("name")!, $"{w}");
                    secrets[sk.Str("name")!].ShouldContain(sk.Str("key")!, $"{w}: secret {sk.Str("name")} has no key {sk.Str("key")}");
                    references++;
                }

                if (node.Map("configMapRef") is { } cmr)
                {
                    configMaps.ShouldContainKey(cmr.Str("name")!, $"{w}");
                    references++;
                }

                if (node.Map("configMap") is { } vol)
                {
                    configMaps.ShouldContainKey(vol.Str("name")!, $"{w}: volume of config map {vol.Str("name")}");
                    references++;
                }
            }
        }

        references.ShouldBeGreaterThan(30);
    }

    [Fact]
    public void The_production_overlay_documents_every_secret_it_expects_to_find()
    {
        string overlay = Path.Combine(Manifests.K8s, "overlays", "production");
        string readme = File.ReadAllText(Path.Combine(overlay, "README.md"));
        var names = Manifests.Generated(BaseKustomization, "secretGenerator").Keys.ToList();
        names.AddRange(Manifests.YamlFiles(overlay).SelectMany(Manifests.Docs).SelectMany(d => d.Root.AllMaps())
            .Select(m => m.Map("secret")?.Str("secretName")).OfType<string>());
        names.ShouldContain("mosquitto-passwd");
        foreach (var name in names)
        {
            readme.ShouldContain($"secret generic {name}", Case.Sensitive, $"overlays/production/README.md does not say how to create {name}");
        }
    }

    [Fact]
    public void Every_image_is_built_from_a_host_that_exists()
    {
        var images = BaseKustomization.Maps("images").Select(i => i.Str("name")!).ToHashSet(StringComparer.Ordinal);
        int hosts = 0;
        foreach (var w in Manifests.Workloads(BaseDocs))
        {
            foreach (var c in Manifests.Containers(w).Where(c => c.Str("image")!.StartsWith("hearttwin/", StringComparison.Ordinal)))
            {
                string image = c.Str("image")!;
                string? host = w.Root.Map("spec")!.Map("template")!.Map("metadata")!.Map("annotations")?.Str("hearttwin.dev/host");
                host.ShouldNotBeNull($"{w}: a HeartTwin image needs the hearttwin.dev/host annotation (the Dockerfile's HOST)");
                File.Exists(Path.Combine(Manifests.Root, "src", "Hosts", host, host + ".csproj")).ShouldBeTrue($"{w}: no src/Hosts/{host}");
                string shortName = host.Replace("HeartTwin.", "", StringComparison.Ordinal).Replace(".Host", "", StringComparison.Ordinal).ToLowerInvariant();
                image.ShouldBe($"hearttwin/{shortName}");
                images.ShouldContain(image, $"{image} has no entry under images: in the base kustomization");
                hosts++;
            }
        }

        hosts.ShouldBe(9);
        foreach (var overlay in Manifests.Overlays)
        {
            Manifests.Kustomization(overlay).Maps("images").Select(i => i.Str("name")!).ShouldBe(images, ignoreOrder: true);
        }
    }

    [Fact]
    public void Every_HeartTwin_container_is_probed_on_the_health_endpoints_and_stops_gracefully()
    {
        foreach (var w in Manifests.Workloads(BaseDocs))
        {
            var pod = Manifests.PodSpec(w);
            int.Parse(pod.Str("terminationGracePeriodSeconds")!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(30, $"{w}");
            pod.Map("securityContext")!.Str("runAsNonRoot").ShouldBe("true", $"{w}");
            foreach (var c in Manifests.Containers(w))
            {
                var resources = c.Map("resources");
                resources?.Map("requests").ShouldNotBeNull($"{w}: resources.requests");
                resources!.Map("limits").ShouldNotBeNull($"{w}: resources.limits");
                c.Map("securityContext")!.Str("allowPrivilegeEscalation").ShouldBe("false", $"{w}");
                c.Map("livenessProbe").ShouldNotBeNull($"{w}: liveness probe");
                c.Map("readinessProbe").ShouldNotBeNull($"{w}: readiness probe");
                if (!c.Str("image")!.StartsWith("hearttwin/", StringComparison.Ordinal))
                {
                    continue;
                }

                c.Map("livenessProbe")!.Map("httpGet")!.Str("path").ShouldBe("/health/live", $"{w}");
                c.Map("readinessProbe")!.Map("httpGet")!.Str("path").ShouldBe("/health/ready", $"{w}");
                c.Map("livenessProbe")!.Map("httpGet")!.Str("port").ShouldBe("http", $"{w}");
                c.Maps("ports").ShouldContain(p => p.Str("name") == "http" && p.Str("containerPort") == "8080", $"{w}");
                c.Map("lifecycle")!.Map("preStop").ShouldNotBeNull($"{w}: preStop");
                c.Map("securityContext")!.Str("readOnlyRootFilesystem").ShouldBe("true", $"{w}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void A_partitioned_block_declares_as_many_replicas_as_its_replica_count(string relative)
    {
        string dir = Path.Combine(Manifests.K8s, relative);
        var docs = relative == "base" ? BaseDocs : Manifests.Kustomization(dir).Maps("patches").Select(p => p.Str("path")).OfType<string>()
            .SelectMany(p => Manifests.Docs(Path.Combine(dir, p))).ToList();
        foreach (var set in docs.Where(d => d.Kind == "StatefulSet" && d.Name is "acquisition" or "agent"))
        {
            string? replicas = set.Root.Map("spec")!.Str("replicas");
            var env = Manifests.Containers(set).SelectMany(c => c.Maps("env")).ToList();
            string? count = env.FirstOrDefault(e => e.Str("name") == "Messaging__Mqtt__ReplicaCount")?.Str("value");
            if (replicas is null && count is null)
            {
                continue; // a patch about something else
            }

            count.ShouldBe(replicas, $"{relative}: {set.Name} runs {replicas} replicas but tells them ReplicaCount={count}");
        }

        if (relative == "base")
        {
            foreach (var name in new[] { "acquisition", "agent" })
            {
                var set = BaseDocs.Single(d => d.Kind == "StatefulSet" && d.Name == name);
                var env = Manifests.Containers(set).SelectMany(c => c.Maps("env")).ToList();
                env.ShouldContain(e => e.Str("name") == "Messaging__Mqtt__ReplicaIndex", $"{name} needs its replica index");
                env.ShouldContain(e => e.Str("name") == "POD_NAME", $"{name} needs POD_NAME (the fallback for the ordinal)");
            }
        }
    }

    [Fact]
    public void The_policy_config_map_carries_the_shipped_policy_unchanged()
    {
        File.ReadAllText(Path.Combine(Manifests.Base, "policy", "default.yaml"))
            .ShouldBe(File.ReadAllText(Path.Combine(Manifests.Root, "policy", "default.yaml")), "deploy/k8s/base/policy/default.yaml must be a copy of policy/default.yaml");
        var policy = BaseDocs.Single(d => d.Kind == "Deployment" && d.Name == "policy");
        var env = Manifests.Containers(policy).SelectMany(c => c.Maps("env")).ToList();
        string path = env.Single(e => e.Str("name") == "Policy__Path").Str("value")!;
        var mount = Manifests.Containers(policy).SelectMany(c => c.Maps("volumeMounts")).Single(m => m.Str("name") == "policy");
        path.ShouldBe(mount.Str("mountPath") + "/default.yaml");
    }

    [Fact]
    public void Autoscalers_budgets_and_network_policies_point_at_workloads_that_exist()
    {
        var workloads = Manifests.Workloads(BaseDocs).ToList();
        var hpas = BaseDocs.Where(d => d.Kind == "HorizontalPodAutoscaler").ToList();
        hpas.Select(h => h.Name).ShouldBe(["gateway", "inference"], ignoreOrder: true);
        foreach (var hpa in hpas)
        {
            var target = hpa.Root.Map("spec")!.Map("scaleTargetRef")!;
            workloads.ShouldContain(w => w.Kind == target.Str("kind") && w.Name == target.Str("name"), $"{hpa}");
        }

        foreach (var selector in BaseDocs.Where(d => d.Kind == "PodDisruptionBudget").Select(d => (d, s: d.Root.Map("spec")!.Map("selector")!))
                     .Concat(BaseDocs.Where(d => d.Kind == "NetworkPolicy").Select(d => (d, s: d.Root.Map("spec")!.Map("podSelector")!))))
        {
            workloads.Any(w => selector.s.Selects(Manifests.TemplateLabels(w))).ShouldBeTrue($"{selector.d} selects no pod");
        }

        BaseDocs.ShouldContain(d => d.Kind == "NetworkPolicy" && d.Name == "default-deny");
    }

    [Fact]
    public void The_gateway_is_sent_to_services_that_exist_for_every_cluster_it_routes_to()
    {
        string appsettings = Path.Combine(Manifests.Root, "src", "Hosts", "HeartTwin.Gateway", "appsettings.json");
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(appsettings));
        var clusters = json.RootElement.GetProperty("ReverseProxy").GetProperty("Clusters").EnumerateObject().Select(c => c.Name).ToList();
        var gateway = BaseDocs.Single(d => d.Kind == "Deployment" && d.Name == "gateway");
        var env = Manifests.Containers(gateway).SelectMany(c => c.Maps("env")).ToDictionary(e => e.Str("name")!, e => e.Str("value")!);
        foreach (var cluster in clusters)
        {
            string key = $"ReverseProxy__Clusters__{cluster}__Destinations__primary__Address";
            env.ShouldContainKey(key, $"the gateway Deployment does not point cluster {cluster} anywhere");
            var address = new Uri(env[key]);
            BaseDocs.ShouldContain(d => d.Kind == "Service" && d.Name == address.Host
                && d.Root.Map("spec")!.Maps("ports").Any(p => p.Str("port") == address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                $"no Service {address.Host} on port {address.Port} for cluster {cluster}");
        }
    }

    [Fact]
    public void Every_configuration_key_the_manifests_set_is_in_the_configuration_reference()
    {
        string reference = File.ReadAllText(Path.Combine(Manifests.Root, "docs", "configuration.md"));
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in Manifests.Workloads(BaseDocs).Where(w => Manifests.Containers(w).Any(c => c.Str("image")!.StartsWith("hearttwin/", StringComparison.Ordinal))))
        {
            keys.UnionWith(Manifests.Containers(w).SelectMany(c => c.Maps("env")).Select(e => e.Str("name")!));
        }

        keys.UnionWith(Manifests.Generated(BaseKustomization, "configMapGenerator")["hearttwin-config"]);
        foreach (var key in keys)
        {
            // Documented by its configuration name (Section:Key) or as the variable itself; cluster addresses by pattern.
            string name = ClusterAddress().Replace(key, "ReverseProxy__Clusters__<cluster>__Destinations__primary__Address");
            (reference.Contains(name, StringComparison.Ordinal) || reference.Contains(name.Replace("__", ":", StringComparison.Ordinal), StringComparison.Ordinal))
                .ShouldBeTrue($"docs/configuration.md does not mention {key}");
        }
    }

    [Fact]
    public void Yamllint_passes_on_the_repository()
    {
        string? yamllint = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(p => Path.Combine(p, "yamllint")).FirstOrDefault(File.Exists);
        yamllint.ShouldNotBeNull("yamllint is not installed: apt-get install -y yamllint (.ci/run installs it)");
        File.Exists(Path.Combine(Manifests.Root, ".yamllint")).ShouldBeTrue("the repository's .yamllint config is missing");
        var start = new ProcessStartInfo(yamllint, ["-f", "parsable", "-s", "deploy", "policy"])
        {
            WorkingDirectory = Manifests.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.ShouldBe(0, output);
    }

    [GeneratedRegex("^ReverseProxy__Clusters__[a-z]+__Destinations__primary__Address$")]
    private static partial Regex ClusterAddress();
}
