using System.Reflection;
using System.Text.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>
/// A closed space per school, checked for every hub method: a member of another school who names school A's chats,
/// messages, people or the school itself gets "not found" and learns nothing. The walk finds the methods by
/// reflection, so a new hub method is covered the day it is added, or the walk fails until someone says how.
/// </summary>
public sealed class CrossSchoolHubWalkTests(ChatApp app, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ChatApp>
{
    /// <summary>Not hub methods in the sense of this walk: no data, no school.</summary>
    private static readonly HashSet<string> NotWalked = ["Ping", nameof(ChatHub.OnConnectedAsync), nameof(ChatHub.OnDisconnectedAsync)];

    /// <summary>Methods about the caller's own things, which succeed for anyone; for these the walk checks that nothing of school A comes back.</summary>
    private static readonly Dictionary<string, string> AboutTheCallerOnly = new()
    {
        ["GetChats"] = "lists the caller's own chats; naming another school filters them down to none",
        ["SearchMessages"] = "searches only the chats the caller is a member of",
        ["GetPresence"] = "answers only for people who share a chat with the caller; outsiders get an empty list",
        ["GetCallReminders"] = "lists the reminders of the caller's own chats only",
    };

    /// <summary>The answers that say "there is nothing here for you", without saying whether it exists.</summary>
    private static readonly HashSet<string> NotFoundOrForbidden = ["chat_not_found", "school_not_found", "member_not_found", "not_found", "forbidden"];

    private const string Secret = "Секретный тест школы А";

    /// <summary>School A with a class, a class chat with messages (one edited, one reacted to, one read) and a group chat.</summary>
    private sealed record SchoolA(TestSchool School, Guid ClassId, Guid ClassChatId, Guid GroupChatId, TestUser Teacher, TestUser Pupil, Guid CallId, Guid PlanId)
    {
        public Targets Targets => new(School.Id, ClassId, ClassChatId, GroupChatId, Pupil.AccountId, Teacher.AccountId, CallId, PlanId);

        public IEnumerable<string> Identifiers =>
            [School.Id.ToString(), ClassId.ToString(), ClassChatId.ToString(), GroupChatId.ToString(), Teacher.AccountId.ToString(), Pupil.AccountId.ToString(), School.Admin.AccountId.ToString(), CallId.ToString(), PlanId.ToString()];
    }

    /// <summary>The ids the walk points its calls at.</summary>
    private sealed record Targets(Guid SchoolId, Guid ClassId, Guid ClassChatId, Guid GroupChatId, Guid PupilId, Guid TeacherId, Guid CallId, Guid PlanId);

    private async Task<SchoolA> SchoolAAsync()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Школа А");
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var pupil = await school.AddStudentAsync("Петя", class5A.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var pupilHub = await HubClient.ConnectAsync(app, pupil);
        var classChat = await pupilHub.ClassChatAsync(school.Id, class5A.Id);
        var first = await pupilHub.SendAsync(classChat.Id, Secret);
        await pupilHub.Connection.InvokeAsync<MessageDto>("EditMessage", classChat.Id, first.Seq, Secret + ", исправлено");
        await teacherHub.Connection.InvokeAsync<MessageDto>("React", classChat.Id, first.Seq, "👍", true);
        await teacherHub.SendAsync(classChat.Id, Secret + " от учителя");
        await pupilHub.Connection.InvokeAsync<long>("MarkRead", classChat.Id, 10L);
        var group = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Тайный кружок", class5A.Id, Secret, [pupil.AccountId]));
        await teacherHub.SendAsync(group.Id, Secret + " в кружке");
        var call = await teacherHub.Connection.InvokeAsync<Chat.Hub.Features.Calls.CallJoinDto>("StartCall", classChat.Id, true);
        var plan = await teacherHub.Connection.InvokeAsync<Chat.Hub.Features.Calls.CallPlanDto>("ScheduleCall",
            new Chat.Hub.Features.Calls.ScheduleCallRequest(classChat.Id, Secret, DateTimeOffset.UtcNow.AddDays(1), "lesson"));
        return new SchoolA(school, class5A.Id, classChat.Id, group.Id, teacher, pupil, call.Call.CallId, plan.PlanId);
    }

    /// <summary>Every public method declared on the hub itself, as clients call it.</summary>
    private static List<MethodInfo> HubMethods() =>
        typeof(ChatHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && !NotWalked.Contains(m.Name))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ToList();

    private static string HubName(MethodInfo method) => method.GetCustomAttribute<HubMethodNameAttribute>()?.Name ?? method.Name;

    /// <summary>Services the hub method gets from DI (method injection) are not sent by the client.</summary>
    private static bool IsInjected(ParameterInfo p) =>
        p.ParameterType.Namespace?.StartsWith("Chat.Hub.Features", StringComparison.Ordinal) == true && p.ParameterType.Name.EndsWith("Service", StringComparison.Ordinal);

    private static IEnumerable<ParameterInfo> ClientParameters(MethodInfo method) => method.GetParameters().Where(p => !IsInjected(p));

    /// <summary>
    /// An argument that points at school A, chosen by the parameter's type and name; null when the walk does not know
    /// how to build one (the test then fails, naming the method, so that whoever added it extends the walk).
    /// </summary>
    private static bool TryBuildArgument(ParameterInfo parameter, Targets a, out object? value)
    {
        var name = parameter.Name ?? "";
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        value = null;
        if (type == typeof(Guid))
        {
            value = name.Contains("plan", StringComparison.OrdinalIgnoreCase) ? a.PlanId
                : name.Contains("call", StringComparison.OrdinalIgnoreCase) ? a.CallId
                : name.Contains("chat", StringComparison.OrdinalIgnoreCase) ? a.ClassChatId
                : name.Contains("school", StringComparison.OrdinalIgnoreCase) ? a.SchoolId
                : name.Contains("account", StringComparison.OrdinalIgnoreCase) ? a.PupilId
                : name.Contains("class", StringComparison.OrdinalIgnoreCase) ? a.ClassId
                : name is "ruleId" or "reportId" or "clientId" ? Guid.NewGuid() // checked only after the chat, which already refuses
                : null;
            return value is not null;
        }

        if (type == typeof(long))
        {
            // "After" from the start and "before" from the end would return the most, if anything leaked.
            value = name.StartsWith("after", StringComparison.Ordinal) ? 0L : name.StartsWith("before", StringComparison.Ordinal) ? null : 1L;
            return true;
        }

        value = type switch
        {
            _ when type == typeof(int) => name == "limit" ? 200 : 1,
            _ when type == typeof(bool) => true,
            _ when type == typeof(string) => name == "emoji" ? "👍" : "тест", // valid, so that the call gets as far as the check of who asks
            _ when type == typeof(Guid[]) && name.Contains("account", StringComparison.OrdinalIgnoreCase) => new[] { a.PupilId, a.TeacherId },
            _ when type == typeof(int[]) && name == "optionIds" => new[] { 0 },
            _ when type == typeof(Chat.Hub.Features.Polls.CreatePollRequest) => new Chat.Hub.Features.Polls.CreatePollRequest(a.ClassChatId, Guid.NewGuid(), "тест?", ["да", "нет"]),
            _ when type == typeof(Chat.Hub.Features.Files.SendFilesRequest) => new Chat.Hub.Features.Files.SendFilesRequest(a.ClassChatId, Guid.NewGuid(), [Guid.NewGuid()], "тест"),
            _ when type == typeof(SearchRequest) => new SearchRequest("тест", a.SchoolId, a.ClassChatId),
            _ when type == typeof(SendMessageRequest) => new SendMessageRequest(a.ClassChatId, Guid.NewGuid(), "тест", 1, [a.PupilId]),
            _ when type == typeof(ForwardMessageRequest) => new ForwardMessageRequest(a.ClassChatId, 1, a.GroupChatId, Guid.NewGuid()),
            _ when type == typeof(CreateChatRequest) => new CreateChatRequest(a.SchoolId, "group", "тест", a.ClassId, "тест", [a.PupilId]),
            _ when type == typeof(UpdateChatRequest) => new UpdateChatRequest("тест", "тест", 60),
            _ when type == typeof(ChatPreferencesRequest) => new ChatPreferencesRequest(true, DateTimeOffset.UtcNow.AddDays(1), null),
            _ when type == typeof(Chat.Hub.Features.Moderation.ViolationRequest) => new Chat.Hub.Features.Moderation.ViolationRequest(a.ClassChatId, a.PupilId, Guid.NewGuid(), 1, "тест"),
            _ when type == typeof(Chat.Hub.Features.Moderation.BlockRequest) => new Chat.Hub.Features.Moderation.BlockRequest(a.ClassChatId, a.PupilId, Guid.NewGuid(), DateTimeOffset.UtcNow.AddDays(7), "тест"),
            _ when type == typeof(Chat.Hub.Features.Moderation.MuteRequest) => new Chat.Hub.Features.Moderation.MuteRequest(a.ClassChatId, a.PupilId, Guid.NewGuid(), 60, "тест"),
            _ when type == typeof(Chat.Hub.Features.Moderation.RemoveMemberRequest) => new Chat.Hub.Features.Moderation.RemoveMemberRequest(a.ClassChatId, a.PupilId, Guid.NewGuid(), "тест"),
            _ when type == typeof(Chat.Hub.Features.Moderation.ReportRequest) => new Chat.Hub.Features.Moderation.ReportRequest(a.ClassChatId, 1, Guid.NewGuid(), "тест"),
            _ when type == typeof(Chat.Hub.Features.Calls.ScheduleCallRequest) => new Chat.Hub.Features.Calls.ScheduleCallRequest(a.ClassChatId, "тест", DateTimeOffset.UtcNow.AddDays(1), "lesson"),
            _ when type == typeof(Chat.Hub.Features.Calls.TrickleRequest) => new Chat.Hub.Features.Calls.TrickleRequest(a.CallId, null, "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host", "0", 0),
            _ => null,
        };
        return value is not null;
    }

    private static Type ResultType(MethodInfo method) =>
        method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>) ? method.ReturnType.GetGenericArguments()[0] : typeof(object);

    [Fact]
    public void HubMethods_EveryOneCanBeWalked()
    {
        var methods = HubMethods();
        Assert.Contains(methods, m => m.Name == "SendMessage");
        Assert.True(methods.Count >= 20, $"only {methods.Count} hub methods found");

        var anywhere = new Targets(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var unbuildable = methods
            .SelectMany(m => ClientParameters(m).Where(p => !TryBuildArgument(p, anywhere, out _)).Select(p => $"{m.Name}({p.ParameterType.Name} {p.Name})"))
            .ToList();
        Assert.True(unbuildable.Count == 0,
            "The cross-school walk cannot build these arguments; teach TryBuildArgument to point them at school A: " + string.Join(", ", unbuildable));
    }

    [Fact]
    public async Task EveryHubMethod_CalledByMemberOfAnotherSchoolWithSchoolAIds_NotFoundAndNothingOfSchoolA()
    {
        var a = await SchoolAAsync();
        var schoolB = await new SchoolBuilder(app).CreateAsync("Школа Б");
        var classB = await schoolB.CreateClassAsync("5А");
        var pupilB = await schoolB.AddStudentAsync("Вова", classB.Id);
        await using var watcher = await HubClient.ConnectAsync(app, a.Pupil);
        var before = await StateOfAAsync(a);

        var failures = new List<string>();
        foreach (var attacker in new[] { schoolB.Admin, pupilB })
        {
            await using var hub = await HubClient.ConnectAsync(app, attacker);
            foreach (var method in HubMethods())
            {
                var args = new List<object?>();
                foreach (var parameter in ClientParameters(method))
                {
                    Assert.True(TryBuildArgument(parameter, a.Targets, out var value), $"cannot build {method.Name}({parameter.Name})");
                    args.Add(value);
                }

                var what = $"{(attacker == pupilB ? "pupil" : "admin")} of B: {method.Name}";
                object? result;
                try
                {
                    result = await hub.Connection.InvokeCoreAsync(HubName(method), ResultType(method), args.ToArray());
                }
                catch (HubException e)
                {
                    var code = HubCalls.CodeOf(e);
                    output.WriteLine($"{what} -> {code ?? e.Message}");
                    if (AboutTheCallerOnly.ContainsKey(method.Name))
                    {
                        failures.Add($"{what}: refused with {e.Message}, expected an answer about the caller only");
                    }
                    else if (code is null || !NotFoundOrForbidden.Contains(code))
                    {
                        failures.Add($"{what}: {e.Message}");
                    }
                    else if (a.Identifiers.Append(Secret).Any(x => e.Message.Contains(x, StringComparison.OrdinalIgnoreCase)))
                    {
                        failures.Add($"{what}: the error names something of school A: {e.Message}");
                    }

                    continue;
                }

                if (!AboutTheCallerOnly.ContainsKey(method.Name))
                {
                    failures.Add($"{what}: succeeded, returning {JsonSerializer.Serialize(result, ChatJson.Options)}");
                    continue;
                }

                var json = JsonSerializer.Serialize(result, ChatJson.Options);
                output.WriteLine($"{what} -> {json}");
                var leaked = a.Identifiers.Append(Secret).Where(x => json.Contains(x, StringComparison.OrdinalIgnoreCase)).ToList();
                if (leaked.Count > 0)
                {
                    failures.Add($"{what}: returned school A's {string.Join(", ", leaked)}: {json}");
                }
            }

            Assert.Null(hub.ClosedWith);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // Nothing of school A changed, and its member online saw nothing from the outsiders.
        Assert.Equal(before, await StateOfAAsync(a));
        Assert.Empty(watcher.Received);
        Assert.Empty(watcher.Changes);
        Assert.Empty(watcher.TypingEvents);
        Assert.Empty(watcher.Memberships);
        Assert.DoesNotContain(watcher.ReadPositions, p => p.AccountId != a.Pupil.AccountId);
    }

    /// <summary>What an outsider could have changed in school A, as school A's own people see it.</summary>
    private async Task<string> StateOfAAsync(SchoolA a)
    {
        await using var teacher = await HubClient.ConnectAsync(app, a.Teacher);
        var state = new List<object>();
        foreach (var chat in (await teacher.ChatsAsync(null)).OrderBy(c => c.Id))
        {
            state.Add(new { chat.Id, chat.Title, chat.SlowModeSeconds, chat.LastSeq, chat.MemberCount, chat.RulesVersion });
            state.Add(await teacher.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", chat.Id));
            state.Add(await teacher.AllUpdatesAsync(chat.Id, 0));
        }

        await using var pupil = await HubClient.ConnectAsync(app, a.Pupil);
        state.Add((await pupil.ChatsAsync(null)).OrderBy(c => c.Id).Select(c => new { c.Id, c.ReadSeq, c.Pinned, c.MutedUntil, c.RulesAccepted }));
        return JsonSerializer.Serialize(state, ChatJson.Options);
    }

    [Fact]
    public async Task MixedIds_OwnSchoolWithSchoolAPeopleOrMessages_RefusedAndNothingOfSchoolA()
    {
        var a = await SchoolAAsync();
        var schoolB = await new SchoolBuilder(app).CreateAsync("Школа Б");
        var classB = await schoolB.CreateClassAsync("5А");
        var teacherB = await schoolB.AddVerifiedTeacherAsync("Учитель Б", classB.Id);
        await using var hub = await HubClient.ConnectAsync(app, teacherB);
        var ownChat = await hub.ClassChatAsync(schoolB.Id, classB.Id);

        // Forwarding school A's message into one's own chat would copy its text out: "chat not found".
        await hub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(a.ClassChatId, 1, ownChat.Id, Guid.NewGuid()))
            .ExpectHubErrorAsync("chat_not_found");
        Assert.Empty(await hub.HistoryAsync(ownChat.Id));

        // School A's people cannot be pulled into school B's chats, nor school A's class named there.
        var ownGroup = await hub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(schoolB.Id, "group", "Кружок", null, null, null));
        await hub.Connection.InvokeAsync<int>("AddChatMembers", ownGroup.Id, new[] { a.Pupil.AccountId }).ExpectHubErrorAsync("member_not_found");
        await hub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(schoolB.Id, "group", "Общий", null, null, [a.Pupil.AccountId]))
            .ExpectHubErrorAsync("member_not_found");
        await hub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(schoolB.Id, "subject", "Математика", a.ClassId, null, null))
            .ExpectHubErrorAsync("class_not_found");
        await hub.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", schoolB.Id, a.Pupil.AccountId).ExpectHubErrorAsync("member_not_found");

        // Mentions and replies that point into school A are not carried into school B's messages.
        var sent = await hub.SendAsync(ownChat.Id, "Всем привет", mentions: [a.Pupil.AccountId]);
        Assert.Empty(sent.Mentions);
        Assert.DoesNotContain(await hub.ChatsAsync(null), c => c.SchoolId == a.School.Id);
    }
}
