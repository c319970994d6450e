using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Moderation;

/// <summary>
/// The journal's CSV writes each event's details in Russian as the admin page does — names, titles, classes, roles,
/// reasons, dates in the export's time zone — with the stored JSON in its last column, and no phone or e-mail.
/// </summary>
public sealed class AuditCsvDetailsTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task TheJournalsCsvSaysTheDetailsInRussian_TheJsonLast_NoPhoneOrEmail()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var school = room.School;
        var classes = await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes");
        var class5B = classes!.Single(c => c.Name == "5Б");
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var rule = (await teacherHub.Connection.InvokeAsync<List<RuleDto>>("GetRules", school.Id)).OrderBy(r => r.Number).First();
        var classChat = (await school.Admin.Http.GetFromJsonAsync<List<SchoolChatDto>>($"{school.Api}/chats"))!.Single(c => c.Id == room.ChatId);

        // The admin lets the class teacher post in the staff channel.
        var staffChannel = (await adminHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Title == "Сотрудники");
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", staffChannel.Id, room.Teacher.AccountId, "moderator");

        // Коля moves from 5Б to 5А.
        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{room.Kolya.AccountId}/class", new { classId = room.Class.Id })).EnsureOkAsync();

        // A channel for parents.
        var channel = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats", new { kind = "channel", title = "Новости для родителей", audience = new { roles = new[] { "parent" } } }))
            .ReadAsync<ChatSummaryDto>();

        // Someone who signed in with an e-mail asks to join as a teacher and is turned down, with the reason.
        var applicant = await app.SignInWithEmailAsync($"applicant{Guid.NewGuid():N}@example.org", "Ольга Заявителева");
        var pending = await TestSchool.AcceptAsync(applicant, await school.InviteAsync(school.Admin, "teacher"));
        Assert.Equal("pending", pending.Status);
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{pending.JoinRequestId}/reject", new { reason = "Такого учителя нет в школе" })).EnsureOkAsync();

        // Маша may not write for an hour; Петя, after four violations, is blocked until a day three days on, 22:00 UTC
        // (03:00 the next day in Yekaterinburg).
        await teacherHub.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(room.ChatId, room.Masha.AccountId, rule.Id, 60, "Спам в чате"));
        var until = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(3).AddHours(22), TimeSpan.Zero);
        await Moderate.BlockAsync(teacherHub.Connection, room.ChatId, room.Petya.AccountId, rule.Id, until, "Оскорбления", "грубость");

        var journal = await (await school.Admin.Http.GetAsync($"{school.Api}/audit?limit=500")).ReadAsync<List<AuditEventDto>>();
        var file = await school.Admin.Http.GetByteArrayAsync($"{school.Api}/audit.csv?tz=Asia%2FYekaterinburg");
        var csv = CsvText.Rows(file);
        Assert.Equal(["№", "Время (Asia/Yekaterinburg)", "Кто", "Действие", "Подробности", "Кто (ID)", "Объект (ID)", "Код действия", "Данные (JSON)"], csv[0]);
        Assert.All(csv, r => Assert.Equal(9, r.Length));
        Assert.Equal(journal.Count, csv.Count - 1);

        // Each row: its details in Russian; its stored JSON, as the journal's API gives it, in the last column.
        string[] Row(string action, Guid subject)
        {
            var e = journal.Single(x => x.Action == action && x.SubjectId == subject);
            var row = csv.Single(r => r[0] == e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(e.Details, row[8]);
            return row;
        }

        var memberRole = Row("chat.member_role", room.Teacher.AccountId);
        Assert.Equal("«Сотрудники» · теперь модератор (в канале может писать) · Мария Ивановна", memberRole[4]);
        Assert.Equal("moderator", JsonDocument.Parse(memberRole[8]).RootElement.GetProperty("role").GetString());
        Assert.Equal(staffChannel.Id, JsonDocument.Parse(memberRole[8]).RootElement.GetProperty("chatId").GetGuid());

        var moved = Row("student.moved", room.Kolya.AccountId);
        Assert.Equal("5Б → 5А · Коля", moved[4]);
        Assert.Equal(class5B.Id, JsonDocument.Parse(moved[8]).RootElement.GetProperty("from").GetGuid());

        var created = Row("chat.created", channel.Id);
        Assert.Equal("Новости для родителей · для: родители", created[4]);
        Assert.Equal(["parent"], JsonDocument.Parse(created[8]).RootElement.GetProperty("audience").EnumerateArray().Select(r => r.GetString()));

        var rejected = Row("join_request.rejected", pending.JoinRequestId!.Value);
        Assert.Equal("причина: Такого учителя нет в школе · Ольга Заявителева", rejected[4]); // named, though never a member
        Assert.Equal(applicant.AccountId, JsonDocument.Parse(rejected[8]).RootElement.GetProperty("AccountId").GetGuid());

        var muted = Row("moderation.muted", room.Masha.AccountId);
        Assert.Equal($"«{classChat.Title}» · правило {rule.Number} · причина: Спам в чате · Маша", muted[4]);
        Assert.Equal(60, JsonDocument.Parse(muted[8]).RootElement.GetProperty("Minutes").GetInt32());

        var blocked = Row("moderation.blocked", room.Petya.AccountId);
        Assert.Equal($"«{classChat.Title}» · правило {rule.Number} · причина: Оскорбления · до {until.AddDays(1):dd.MM.yyyy} · Петя", blocked[4]);
        Assert.Equal(until, JsonDocument.Parse(blocked[8]).RootElement.GetProperty("until").GetDateTimeOffset());

        // No details cell is a code: none is JSON.
        Assert.All(csv.Skip(1), r => Assert.False(r[4].StartsWith('{'), $"details of {r[7]} as JSON: {r[4]}"));

        // Nobody's phone or e-mail anywhere in the file: the names are display names.
        var text = Encoding.UTF8.GetString(file);
        TestUser[] people = [school.Admin, room.Teacher, room.Petya, room.Masha, room.Kolya, room.Mother, applicant];
        foreach (var contact in people.SelectMany(p => new[] { p.Tokens.Account.Phone, p.Tokens.Account.Email }).OfType<string>())
        {
            Assert.DoesNotContain(contact, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(contact.TrimStart('+'), text, StringComparison.Ordinal);
        }

        Assert.Contains(people, p => p.Tokens.Account.Email is not null);
        Assert.DoesNotMatch(@"@[\w-]+\.\w", text);
    }
}
