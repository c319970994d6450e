using System.Net.Http.Json;
using Chat.Hub.Infrastructure;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Accounts;

/// <summary>Delivers a one-time sign-in code by SMS or e-mail.</summary>
public interface ICodeSender
{
    Task SendAsync(SignInIdentity identity, string code, CancellationToken ct);
}

/// <summary>Development sender: appends codes to a file a developer can read. Codes never go to the log.</summary>
public sealed partial class FileCodeSender(IOptions<CodeDeliveryOptions> options, ILogger<FileCodeSender> logger, TimeProvider clock) : ICodeSender
{
    private static readonly SemaphoreSlim FileLock = new(1, 1);

    public async Task SendAsync(SignInIdentity identity, string code, CancellationToken ct)
    {
        var path = Path.GetFullPath(options.Value.DevFile);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await FileLock.WaitAsync(ct);
        try
        {
            await File.AppendAllTextAsync(path, $"{clock.GetUtcNow():O}\t{identity.Value}\t{code}\n", ct);
        }
        finally
        {
            FileLock.Release();
        }

        LogWritten(logger, identity.Masked, path);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sign-in code for {Destination} written to {File}")]
    private static partial void LogWritten(ILogger logger, string destination, string file);
}

/// <summary>
/// Production sender: posts <c>{channel, to, code}</c> to an SMS/e-mail gateway's webhook. A gateway that cannot be
/// reached, times out or answers an error is the person's <c>code_delivery_failed</c> (503, try again), and a warning
/// in the log naming the failure (not the webhook's address, which may carry its key, nor the code).
/// </summary>
public sealed partial class WebhookCodeSender(HttpClient http, IOptions<CodeDeliveryOptions> options, ILogger<WebhookCodeSender> logger) : ICodeSender
{
    public async Task SendAsync(SignInIdentity identity, string code, CancellationToken ct)
    {
        var url = options.Value.WebhookUrl ?? throw new InvalidOperationException("Codes:WebhookUrl is not set.");
        try
        {
            using var response = await http.PostAsJsonAsync(url, new { channel = identity.Kind, to = identity.Value, code }, ct);
            response.EnsureSuccessStatusCode();
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException or TimeoutException && !ct.IsCancellationRequested))
        {
            LogFailed(logger, identity.Masked, e.GetType().Name, (e as HttpRequestException)?.StatusCode is { } status ? (int)status : null);
            throw new ChatException(ChatError.CodeDeliveryFailed);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The code gateway did not take the sign-in code for {Destination}: {Failure} (HTTP status {Status})")]
    private static partial void LogFailed(ILogger logger, string destination, string failure, int? status);
}
