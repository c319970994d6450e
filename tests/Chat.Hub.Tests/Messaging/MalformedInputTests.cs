using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Bad input over the hub: a clear error for that call, and the connection goes on working.</summary>
public sealed class MalformedInputTests(ChatApp app) : IClassFixture<ChatApp>
{
    private async Task<(HubClient Hub, Guid ChatId)> PupilInClassChatAsync()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var hub = await HubClient.ConnectAsync(app, petya);
        return (hub, (await hub.ClassChatAsync(school.Id, class5A.Id)).Id);
    }

    /// <summary>The connection is still open and serves a valid call.</summary>
    private static async Task StillWorksAsync(HubClient hub, Guid chatId)
    {
        Assert.Null(hub.ClosedWith);
        Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
        var ok = await hub.SendAsync(chatId, "Проверка связи");
        Assert.True(ok.Seq > 0);
    }

    [Fact]
    public async Task UnknownMethodOrWrongArguments_HubErrorForThatCall_ConnectionStaysUsable()
    {
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;

        var unknown = await hub.Connection.InvokeAsync<object>("DropAllTables").ExpectHubErrorAsync("unknown_method");
        Assert.Contains("DropAllTables", HubCalls.ServerMessage(unknown), StringComparison.Ordinal);
        await StillWorksAsync(hub, chatId);

        // Wrong types and wrong counts fail in SignalR's argument binding, before any hub code runs: still our code.
        var calls = new Func<Task>[]
        {
            () => hub.Connection.InvokeAsync<MessageDto>("EditMessage", chatId, "первое", "текст"),
            () => hub.Connection.InvokeAsync<MessageDto>("SendMessage", "просто строка"),
            () => hub.Connection.InvokeAsync<MessageDto>("SendMessage", 42),
            () => hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", "не-guid", null, null),
            () => hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chatId),
            () => hub.Connection.InvokeAsync<long>("MarkRead", chatId, 1L, 2L, 3L),
            () => hub.Connection.InvokeAsync<long>("MarkRead", chatId, null),
            () => hub.Connection.InvokeAsync<int>("AddChatMembers", chatId, new { x = 1 }),
        };
        foreach (var call in calls)
        {
            await call().ExpectHubErrorAsync("invalid_arguments");
            await StillWorksAsync(hub, chatId);
        }

        var count = await hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chatId).ExpectHubErrorAsync("invalid_arguments");
        Assert.Contains("GetHistory", HubCalls.ServerMessage(count), StringComparison.Ordinal);

        // The hub streams nothing, either way: a stream call, or a call carrying a stream, gets our code too.
        var stream = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in hub.Connection.StreamAsync<object>("Ping"))
            {
            }
        });
        Assert.StartsWith("invalid_arguments", HubCalls.ServerMessage(stream), StringComparison.Ordinal);
        var upload = System.Threading.Channels.Channel.CreateUnbounded<string>();
        upload.Writer.Complete();
        await hub.Connection.InvokeAsync<MessageDto>("SendMessage", upload.Reader).ExpectHubErrorAsync("invalid_arguments");
        await StillWorksAsync(hub, chatId);

        // A non-blocking send (no answer expected) of nonsense is dropped quietly; the connection carries on.
        await hub.Connection.SendAsync("NoSuchMethod", 1, 2, 3);
        await hub.Connection.SendAsync("SendMessage", "не запрос");
        await StillWorksAsync(hub, chatId);
    }

    [Fact]
    public async Task NullForARequiredArgument_ValidationFailed_NotAServerError()
    {
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;

        await hub.Connection.InvokeAsync<MessageDto>("SendMessage", (object?)null).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<MessageDto>("ForwardMessage", (object?)null).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", (object?)null).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<int>("AddChatMembers", chatId, null).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", chatId, null).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync("SetChatPreferences", chatId, null).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<MessageDto>("EditMessage", chatId, 1L, null).ExpectHubErrorAsync("validation_failed");
        Assert.DoesNotContain(app.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("NullReferenceException", StringComparison.Ordinal));
        await StillWorksAsync(hub, chatId);

        // A forward without its client id would be taken for a resend of the last one and answered with it.
        var sent = await hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chatId, Guid.NewGuid(), "Переслать это", null, null));
        await hub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(chatId, sent.Seq, chatId, Guid.Empty)).ExpectHubErrorAsync("validation_failed");
    }

    [Fact]
    public async Task SendMessage_InvalidText_ValidationFailed_ConnectionStaysUsable()
    {
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;

        var tooLong = await hub.SendAsync(chatId, new string('а', 4001)).ExpectHubErrorAsync("validation_failed");
        Assert.Contains("(text)", tooLong.Message, StringComparison.Ordinal);
        await hub.SendAsync(chatId, "").ExpectHubErrorAsync("validation_failed");
        await hub.SendAsync(chatId, "   \n\t ").ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chatId, Guid.NewGuid(), null, null, null)).ExpectHubErrorAsync("validation_failed");
        var noClientId = await hub.SendAsync(chatId, "Без идентификатора", clientId: Guid.Empty).ExpectHubErrorAsync("validation_failed");
        Assert.Contains("(clientId)", noClientId.Message, StringComparison.Ordinal);

        // Exactly at the limit is fine; nothing refused took a seq.
        var longest = await hub.SendAsync(chatId, new string('а', 4000));
        Assert.Equal((1L, 4000), (longest.Seq, longest.Text.Length));
        await hub.Connection.InvokeAsync<MessageDto>("EditMessage", chatId, longest.Seq, new string('б', 4001)).ExpectHubErrorAsync("validation_failed");
        await hub.Connection.InvokeAsync<MessageDto>("EditMessage", chatId, longest.Seq, " ").ExpectHubErrorAsync("validation_failed");
        await StillWorksAsync(hub, chatId);
    }

    [Fact]
    public async Task SendMessage_ControlCharactersOrHalfAnEmoji_RefusedOrRepaired_BeforeTheDatabase()
    {
        // NUL is not text PostgreSQL can store: refused as bad input before the batch statement, where its error would
        // fail the other messages of the batch (see GroupCommitTests). Line breaks and tabs are text.
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;
        var before = await hub.SendAsync(chatId, "До");

        foreach (var bad in new[] { "Смотрите\u0000", "Звонок\u0007", "\u001bэскейп" })
        {
            var refused = await hub.SendAsync(chatId, bad).ExpectHubErrorAsync("validation_failed");
            Assert.Contains("(text)", refused.Message, StringComparison.Ordinal);
            await hub.Connection.InvokeAsync<MessageDto>("EditMessage", chatId, before.Seq, bad).ExpectHubErrorAsync("validation_failed");
        }

        await hub.Connection.InvokeAsync<List<MessageDto>>("SearchMessages", "до\u0000", null).ExpectHubErrorAsync("search_query_invalid");

        // Half of an emoji (a client that cut a string inside a surrogate pair) reaches the server as U+FFFD, the
        // replacement character (the .NET client's JSON encoder repairs it): stored and shown as such, not an error.
        var half = await hub.SendAsync(chatId, "Смотрите \uD83D");
        Assert.Equal("Смотрите \uFFFD", half.Text);

        var multiline = await hub.SendAsync(chatId, "Строка 1\nСтрока 2\tконец");
        Assert.Equal([before.Seq, before.Seq + 1, before.Seq + 2], new[] { before.Seq, half.Seq, multiline.Seq });
        Assert.Equal(["До", "Смотрите \uFFFD", "Строка 1\nСтрока 2\tконец"], (await hub.HistoryAsync(chatId)).OrderBy(m => m.Seq).Select(m => m.Text));
        await StillWorksAsync(hub, chatId);
    }

    [Fact]
    public async Task SendMessage_ReplyToSeqThatDoesNotExist_ReplyNotFound()
    {
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;
        var question = await hub.SendAsync(chatId, "Какая тема у доклада?");

        await hub.SendAsync(chatId, "Ответ в пустоту", replyToSeq: 42).ExpectHubErrorAsync("reply_not_found");
        await hub.SendAsync(chatId, "Ответ в минус", replyToSeq: -1).ExpectHubErrorAsync("reply_not_found");

        var answer = await hub.SendAsync(chatId, "Про космос", replyToSeq: question.Seq);
        Assert.Equal((2L, question.Seq), (answer.Seq, answer.ReplyToSeq));
        await StillWorksAsync(hub, chatId);
    }

    [Fact]
    public async Task React_WordOrSeveralEmoji_ValidationFailed_SingleEmojiOfAnyShapeAccepted()
    {
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;
        var message = await hub.SendAsync(chatId, "Оцените мой рисунок");

        foreach (var notAnEmoji in new[] { "класс", "ok", "лайк👍", "5", "👍👍", "😀 😀", "", " ", "\u0000" })
        {
            await hub.Connection.InvokeAsync<MessageDto>("React", chatId, message.Seq, notAnEmoji, true).ExpectHubErrorAsync("validation_failed");
        }

        // One emoji, however many code points it takes: a colour variant, a skin tone, a flag, a family.
        foreach (var emoji in new[] { "❤️", "👍🏽", "🇷🇺" })
        {
            await hub.Connection.InvokeAsync<MessageDto>("React", chatId, message.Seq, emoji, true);
        }

        await hub.Connection.InvokeAsync<MessageDto>("React", chatId, message.Seq, "👍🏽", false);
        var last = await hub.Connection.InvokeAsync<MessageDto>("React", chatId, message.Seq, "👨‍👩‍👧", true);
        Assert.Equal(["❤️", "🇷🇺", "👨‍👩‍👧"], last.Reactions.Select(r => r.Emoji));
        await StillWorksAsync(hub, chatId);
    }

    [Fact]
    public async Task Calls_OnChatThatDoesNotExist_ChatNotFound_PagingArgumentsAreClamped()
    {
        var (hub, chatId) = await PupilInClassChatAsync();
        await using var _ = hub;
        var nowhere = Guid.NewGuid();

        await hub.SendAsync(nowhere, "Куда это?").ExpectHubErrorAsync("chat_not_found");
        await hub.HistoryAsync(nowhere).ExpectHubErrorAsync("chat_not_found");
        await hub.Connection.InvokeAsync<long>("MarkRead", nowhere, 1L).ExpectHubErrorAsync("chat_not_found");
        await hub.HistoryAsync(Guid.Empty).ExpectHubErrorAsync("chat_not_found");

        // Silly paging values are clamped rather than refused or passed to the database.
        for (var i = 0; i < 3; i++)
        {
            await hub.SendAsync(chatId, $"Сообщение {i}");
        }

        Assert.Single(await hub.HistoryAsync(chatId, null, 0));
        Assert.Single(await hub.HistoryAsync(chatId, null, -5));
        Assert.Equal(3, (await hub.HistoryAsync(chatId, null, int.MaxValue)).Count);
        Assert.Empty(await hub.HistoryAsync(chatId, long.MinValue, 10));
        Assert.Single((await hub.UpdatesAsync(chatId, long.MinValue, int.MinValue)).Events);
        Assert.Equal(0, await hub.Connection.InvokeAsync<long>("MarkRead", chatId, long.MinValue));
        await hub.Connection.InvokeAsync<List<MessageDto>>("SearchMessages", "я", null).ExpectHubErrorAsync("search_query_invalid");
        await StillWorksAsync(hub, chatId);
    }
}
