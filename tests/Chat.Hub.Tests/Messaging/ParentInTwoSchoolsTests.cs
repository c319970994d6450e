using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>
/// A mother of children in two schools, signed in once: each school stays closed to the other even though she is in
/// both — nothing of one school reaches the other through her.
/// </summary>
public sealed class ParentInTwoSchoolsTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task MotherForwardsTheGymnasiumsNews_IntoTheFirstSchoolsParentsChat_Refused_WithinOneSchoolItWorks()
    {
        var first = await new SchoolBuilder(app).CreateAsync("Школа №53");
        var firstClass = await first.CreateClassAsync("5А");
        var son = await first.AddStudentAsync("Петя", firstClass.Id);
        var mother = await first.AddParentAsync("Мама Пети и Оли", son.AccountId);
        var gymnasium = await new SchoolBuilder(app).CreateAsync("Гимназия №8");
        var gymClass = await gymnasium.CreateClassAsync("2В");
        var daughter = await gymnasium.AddStudentAsync("Оля", gymClass.Id);
        await gymnasium.LinkParentAsync(mother, daughter.AccountId);
        await using var motherHub = await HubClient.ConnectAsync(app, mother);
        await using var gymAdminHub = await HubClient.ConnectAsync(app, gymnasium.Admin);
        var all = await motherHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", (Guid?)null);
        var gymChannel = all.Single(c => c.SchoolId == gymnasium.Id && c.Kind == "channel");
        var firstParents = all.Single(c => c.SchoolId == first.Id && c.Kind == "parents");
        var gymParents = all.Single(c => c.SchoolId == gymnasium.Id && c.Kind == "parents");
        var news = await gymAdminHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(gymChannel.Id, Guid.NewGuid(), "Завтра в гимназии день открытых дверей", null, null));

        // Into the other school: refused, nothing stored there (the copy would name a gymnasium's admin and channel).
        await motherHub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(gymChannel.Id, news.Seq, firstParents.Id, Guid.NewGuid()))
            .ExpectHubErrorAsync("forward_other_school");
        Assert.Empty(await motherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", firstParents.Id, (long?)null, 50));

        // Within the gymnasium it goes, with where it came from.
        var forwarded = await motherHub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(gymChannel.Id, news.Seq, gymParents.Id, Guid.NewGuid()));
        Assert.Equal(("Завтра в гимназии день открытых дверей", "Общешкольный канал"), (forwarded.Text, forwarded.ForwardedFrom!.Value.GetProperty("chatTitle").GetString()));
    }
}
