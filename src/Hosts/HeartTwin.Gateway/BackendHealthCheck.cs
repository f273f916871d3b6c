using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace HeartTwin.Gateway;

/// <summary>Readiness detail: the services whose every instance YARP's active health checks found down (Degraded, never Unhealthy).</summary>
internal sealed class BackendHealthCheck(IProxyStateLookup proxy) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var down = proxy.GetClusters()
            .Where(c => !c.Destinations.IsEmpty && c.Destinations.Values.All(d => d.Health.Active == DestinationHealth.Unhealthy))
            .Select(c => c.ClusterId)
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(down.Count == 0
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded($"No healthy instance of: {string.Join(", ", down)}."));
    }
}
