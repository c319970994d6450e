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

/// <summary>Production sender: posts <c>{channel, to, code}</c> to an SMS/e-mail gateway's webhook.</summary>
public sealed class WebhookCodeSender(HttpClient http, IOptions<CodeDeliveryOptions> options) : ICodeSender
{
    public async Task SendAsync(SignInIdentity identity, string code, CancellationToken ct)
    {
        var url = options.Value.WebhookUrl ?? throw new InvalidOperationException("Codes:WebhookUrl is not set.");
        using var response = await http.PostAsJsonAsync(url, new { channel = identity.Kind, to = identity.Value, code }, ct);
        response.EnsureSuccessStatusCode();
    }
}
