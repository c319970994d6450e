using Chat.Hub.Features.Chats;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>The hub methods as a client calls them, typed, so that tests read as what a person does.</summary>
public static class HubCalls
{
    public static Task<MessageDto> SendAsync(this HubClient hub, Guid chatId, string text, long? replyToSeq = null, Guid[]? mentions = null, Guid? clientId = null) =>
        hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chatId, clientId ?? Guid.NewGuid(), text, replyToSeq, mentions));

    public static Task<List<ChatSummaryDto>> ChatsAsync(this HubClient hub, Guid? schoolId) =>
        hub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", schoolId);

    public static async Task<ChatSummaryDto> ChatAsync(this HubClient hub, Guid schoolId, Guid chatId) =>
        Assert.Single(await hub.ChatsAsync(schoolId), c => c.Id == chatId);

    /// <summary>The class chat (pupils and class teachers) of the class the person is in.</summary>
    public static async Task<ChatSummaryDto> ClassChatAsync(this HubClient hub, Guid schoolId, Guid classId) =>
        Assert.Single(await hub.ChatsAsync(schoolId), c => c.Kind == "class" && c.ClassId == classId);

    public static Task<List<MessageDto>> HistoryAsync(this HubClient hub, Guid chatId, long? beforeSeq = null, int? limit = null) =>
        hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chatId, beforeSeq, limit);

    public static Task<ChatUpdatesDto> UpdatesAsync(this HubClient hub, Guid chatId, long afterSeq, int? limit = null) =>
        hub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", chatId, afterSeq, limit);

    /// <summary>Every event after <paramref name="afterSeq"/>, following <c>HasMore</c> page by page.</summary>
    public static async Task<List<ChatEventDto>> AllUpdatesAsync(this HubClient hub, Guid chatId, long afterSeq, int? pageSize = null)
    {
        var events = new List<ChatEventDto>();
        while (true)
        {
            var page = await hub.UpdatesAsync(chatId, afterSeq, pageSize);
            events.AddRange(page.Events);
            if (!page.HasMore || page.Events.Count == 0)
            {
                return events;
            }

            afterSeq = page.Events[^1].Seq;
        }
    }

    /// <summary>Asserts that the call fails with a hub error carrying the stable code and a Russian message.</summary>
    public static async Task<HubException> ExpectHubErrorAsync(this Task call, string code)
    {
        var error = await Assert.ThrowsAsync<HubException>(() => call);
        Assert.True(CodeOf(error) == code, $"expected {code}, got: {error.Message}");
        Assert.Matches("[А-Яа-яЁё]", ServerMessage(error));
        return error;
    }

    /// <summary>
    /// What the server said: SignalR wraps a <see cref="HubException"/> thrown on the server as
    /// <c>An unexpected error occurred invoking 'X' on the server. HubException: code: message</c>.
    /// </summary>
    public static string ServerMessage(HubException error)
    {
        const string Marker = "HubException: ";
        var at = error.Message.IndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? error.Message : error.Message[(at + Marker.Length)..];
    }

    /// <summary>The stable code of a hub error (<c>code: message</c>), or null when the error carries none.</summary>
    public static string? CodeOf(HubException error)
    {
        var message = ServerMessage(error);
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && message[..colon].All(c => char.IsAsciiLetterLower(c) || c == '_') ? message[..colon] : null;
    }
}
