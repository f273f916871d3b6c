using System.Text.Json;

namespace HeartTwin.Messaging.Mqtt;

/// <summary>How a message travels: JSON (web defaults) in the payload, its identity in MQTT 5 user properties.</summary>
public static class MqttWire
{
    /// <summary>User property: the message type's name (a contract record's name, e.g. <c>SamplesReceived</c>).</summary>
    public const string TypeProperty = "ht-type";
    /// <summary>User property: the publication's unique id.</summary>
    public const string IdProperty = "ht-id";
    /// <summary>User property: the message's stable key (device:sequence), when it has one.</summary>
    public const string KeyProperty = "ht-key";
    /// <summary>User property: the patient the message was partitioned by, when it has one.</summary>
    public const string PartitionKeyProperty = "ht-patient";
    /// <summary>User property: UTC publication time (ISO 8601).</summary>
    public const string PublishedAtProperty = "ht-published";
    /// <summary>User property on a request: the response type the requester expects.</summary>
    public const string ResponseTypeProperty = "ht-response-type";
    /// <summary>User property on an answer: the handler failed, with this error.</summary>
    public const string ErrorProperty = "ht-error";
    /// <summary>User property: the service that published.</summary>
    public const string SourceProperty = "ht-source";
    /// <summary>MQTT 5 content type of every payload.</summary>
    public const string ContentType = "application/json";

    /// <summary>
    /// Web defaults (camelCase, case-insensitive reading) plus fields, because some contracts carry value tuples
    /// (<c>VitalsResult</c>), whose elements are fields.
    /// </summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { IncludeFields = true };
}
