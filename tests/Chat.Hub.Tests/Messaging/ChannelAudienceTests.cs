using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Channels an admin makes for some classes or roles: their members follow the roster, live.</summary>
public sealed class ChannelAudienceTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task ChannelForParentsOfSomeClasses_FollowsTheRoster_OnlyAdminsPost()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class6B = await school.CreateClassAsync("6Б");
        var class9V = await school.CreateClassAsync("9В");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", class5A.Id);
        var pupil5 = await school.AddStudentAsync("Ученик 5А", class5A.Id);
        var pupil6 = await school.AddStudentAsync("Ученик 6Б", class6B.Id);
        var pupil9 = await school.AddStudentAsync("Ученик 9В", class9V.Id);
        var parent5 = await school.AddParentAsync("Мама из 5А", pupil5.AccountId);
        var parent6 = await school.AddParentAsync("Папа из 6Б", pupil6.AccountId);
        var parent9 = await school.AddParentAsync("Мама из 9В", pupil9.AccountId);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var parent5Hub = await HubClient.ConnectAsync(app, parent5);
        var audience = new ChannelAudience(["parent"], [class5A.Id, class6B.Id]);

        // Only admins make channels; an audience is for channels only and names known roles and classes of the school.
        await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "channel", "Родителям", null, null, null, audience))
            .ExpectHubErrorAsync("chat_create_not_allowed");
        await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "group", "Родителям", null, null, null, audience))
            .ExpectHubErrorAsync("validation_failed");
        await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "channel", "Родителям", null, null, null, new ChannelAudience(["директор"], null)))
            .ExpectHubErrorAsync("validation_failed");
        await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "channel", "Родителям", null, null, null, new ChannelAudience(["parent"], [Guid.NewGuid()])))
            .ExpectHubErrorAsync("class_not_found");
        // Its readers are the audience's: nobody is named by hand besides.
        await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "channel", "Родителям", null, null, [parent9.AccountId], audience))
            .ExpectHubErrorAsync("add_member_not_allowed");

        var channel = await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "channel", "Родители 5–6 классов", null, "Объявления для родителей", null, audience));
        Assert.Equal(("channel", true), (channel.Kind, channel.ReadOnly));
        await HubClient.EventuallyAsync(() => parent5Hub.Memberships.Contains((channel.Id, true)), "the parent's open connection joins at once");
        var members = await adminHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", channel.Id);
        Assert.Equal(
            new[] { school.Admin.AccountId, parent5.AccountId, parent6.AccountId }.Order(),
            members.Select(m => m.AccountId).Order());

        // Admins post; the parents of 5А and 6Б receive; a parent cannot post or leave.
        var news = await adminHub.SendAsync(channel.Id, "Родительское собрание в среду");
        await HubClient.EventuallyAsync(() => parent5Hub.ReceivedIn(channel.Id).Any(m => m.Seq == news.Seq), "the announcement");
        await parent5Hub.SendAsync(channel.Id, "Спасибо").ExpectHubErrorAsync("chat_read_only");
        await parent5Hub.Connection.InvokeAsync("LeaveChat", channel.Id).ExpectHubErrorAsync("cannot_leave_chat");
        Assert.DoesNotContain(await ChatsAsync(parent9, school.Id), c => c.Id == channel.Id);
        Assert.DoesNotContain(await ChatsAsync(pupil5, school.Id), c => c.Id == channel.Id);

        // The roster moves: a new 5А pupil's parent joins; the 9В pupil moves to 6Б and his mother follows; 5А's pupil leaves and so does his mother.
        var newcomer = await school.AddStudentAsync("Новенький", class5A.Id);
        var newParent = await school.AddParentAsync("Папа новенького", newcomer.AccountId);
        Assert.Contains(await ChatsAsync(newParent, school.Id), c => c.Id == channel.Id);
        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{pupil9.AccountId}/class", new { classId = class6B.Id })).EnsureOkAsync();
        Assert.Contains(await ChatsAsync(parent9, school.Id), c => c.Id == channel.Id);
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{pupil5.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => parent5Hub.Memberships.Contains((channel.Id, false)), "the mother's live connection leaves");
        await parent5Hub.HistoryAsync(channel.Id).ExpectHubErrorAsync("chat_not_found");
    }

    [Fact]
    public async Task ChannelForStaffAndAllPupils_WithoutClasses_HoldsEveryPupilAndTeacher_NoParents()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var classA = await school.CreateClassAsync("7А");
        var classB = await school.CreateClassAsync("8Б");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель");
        var a = await school.AddStudentAsync("Ученик 7А", classA.Id);
        var b = await school.AddStudentAsync("Ученик 8Б", classB.Id);
        var parent = await school.AddParentAsync("Родитель", a.AccountId);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);

        var channel = await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "channel", "Олимпиады", null, null, null, new ChannelAudience(["student", "staff"], null)));
        var members = (await adminHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", channel.Id)).Select(m => m.AccountId).ToHashSet();
        Assert.True(members.SetEquals([school.Admin.AccountId, teacher.AccountId, a.AccountId, b.AccountId]), string.Join(", ", members));
        Assert.DoesNotContain(parent.AccountId, members);

        // The admin may rename it; a new class's pupil joins it.
        var renamed = await adminHub.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", channel.Id, new UpdateChatRequest("Олимпиады и конкурсы", null, null));
        Assert.Equal("Олимпиады и конкурсы", renamed.Chat.Title);
        var classC = await school.CreateClassAsync("9А");
        var c = await school.AddStudentAsync("Ученик 9А", classC.Id);
        Assert.Contains(await ChatsAsync(c, school.Id), x => x.Id == channel.Id);
    }

    private static async Task<List<ChatSummaryDto>> ChatsAsync(TestUser user, Guid schoolId) =>
        (await user.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={schoolId}"))!;
}
