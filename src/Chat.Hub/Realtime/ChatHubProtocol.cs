using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using Chat.Hub.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Realtime;

/// <summary>
/// SignalR's JSON protocol, except that a call it cannot bind (an unknown method, a wrong number or type of arguments)
/// fails with our stable code and a Russian message, like every other refused call. Binding happens before any hub
/// filter runs, so <see cref="ChatHubFilter"/> never sees these; SignalR passes a <see cref="HubException"/>'s message to
/// the client and hides any other exception's.
/// </summary>
public sealed class ChatHubProtocol(IOptions<JsonHubProtocolOptions> options) : IHubProtocol
{
    private readonly JsonHubProtocol inner = new(options);

    public string Name => inner.Name;

    public int Version => inner.Version;

    public TransferFormat TransferFormat => inner.TransferFormat;

    public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => inner.WriteMessage(message, output);

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => inner.GetMessageBytes(message);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        if (!inner.TryParseMessage(ref input, binder, out message))
        {
            return false;
        }

        if (message is InvocationBindingFailureMessage failure)
        {
            message = new InvocationBindingFailureMessage(failure.InvocationId, failure.Target, ExceptionDispatchInfo.Capture(Explain(failure.Target, binder)));
        }
        else if (message is StreamInvocationMessage stream)
        {
            // The hub streams nothing: SignalR would answer in English and without a code.
            message = NotAStream(stream.InvocationId, stream.Target);
        }
        else if (message is InvocationMessage { StreamIds.Length: > 0 } streamed)
        {
            // Nor takes streams from the client (a non-blocking call has no id to answer: it is dropped, as nonsense is).
            message = NotAStream(streamed.InvocationId, streamed.Target);
        }

        return true;
    }

    private static HubException Explain(string method, IInvocationBinder binder)
    {
        IReadOnlyList<Type> parameters;
        try
        {
            parameters = binder.GetParameterTypes(method);
        }
        catch (HubException)
        {
            return Error(ChatError.HubMethodNotFound, $"Метода «{Printable(method)}» нет на сервере. Проверьте название или обновите приложение.");
        }

        return Error(ChatError.HubArgumentsInvalid, $"Неверные аргументы метода {method}: он принимает {parameters.Count} (проверьте их число и типы).");
    }

    private static HubException Error(ChatError error, string message) => new($"{error.Code}: {message}");

    private static InvocationBindingFailureMessage NotAStream(string? invocationId, string method) =>
        new(invocationId, method, ExceptionDispatchInfo.Capture(
            Error(ChatError.HubArgumentsInvalid, $"Метод «{Printable(method)}» вызывается обычным вызовом, без потоков.")));

    /// <summary>The name as the client sent it, cut short and without control characters (it is echoed back).</summary>
    private static string Printable(string name)
    {
        var cut = name.Length > 64 ? Text.Cut(name, 64) + "…" : name;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
