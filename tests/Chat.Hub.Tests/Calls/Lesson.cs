using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// The usual scene of the call tests: a school with 5А and 5Б, a verified teacher of 5А, two of its pupils (Вася and
/// Петя), a pupil of 5Б, and the two class chats. <see cref="MorePupils"/>: further pupils of 5А a test asked for by name
/// (e.g. one who never comes to the lesson).
/// </summary>
public sealed record Lesson(
    TestSchool School, TestUser Teacher, TestUser Pupil, TestUser Pupil2, TestUser Stranger, ChatSummaryDto Chat, ChatSummaryDto OtherChat,
    IReadOnlyList<TestUser> MorePupils)
{
    public static async Task<Lesson> CreateAsync(ChatApp app, params string[] morePupils)
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("5А");
        var b = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", a.Id);
        var pupil = await school.AddStudentAsync("Вася", a.Id);
        var pupil2 = await school.AddStudentAsync("Петя", a.Id);
        var more = new List<TestUser>();
        foreach (var name in morePupils)
        {
            more.Add(await school.AddStudentAsync(name, a.Id));
        }

        var stranger = await school.AddStudentAsync("Коля из 5Б", b.Id);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        var chat = await t.ClassChatAsync(school.Id, a.Id);
        await using var s = await HubClient.ConnectAsync(app, stranger);
        var other = await s.ClassChatAsync(school.Id, b.Id);
        return new Lesson(school, teacher, pupil, pupil2, stranger, chat, other, more);
    }
}
