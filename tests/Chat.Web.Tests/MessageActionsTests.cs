using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>«Кто прочитал» on one's own message and «Переслать» into another chat (hub GetReadBy, ForwardMessage).</summary>
[Collection(WebCollection.Name)]
public sealed class MessageActionsTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Teacher_SeesWhoReadHerMessage_PupilForwardsItToClassmate_WhoSeesWhereItCameFrom()
    {
        var school = await Scene.SchoolAsync("Школа №41");
        var classId = await school.ClassAsync("6А");
        var teacher = await school.TeacherAsync("Вера Павловна", classTeacherOf: classId);
        var masha = await school.PupilAsync("Маша Белова", classId);
        var petya = await school.PupilAsync("Петя Орлов", classId);
        await Scene.Read(await masha.Http.PostAsJsonAsync($"/api/schools/{school.Id}/direct-chats", new { accountId = petya.Id }));
        const string Text = "Завтра экскурсия в музей, сбор в 8:30";

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "6А");
        await SendAsync(page, Text);
        var mine = MessageCard(page, Text);
        await Expect(mine).ToHaveCountAsync(1);

        // Masha opens the class chat (and so reads the message); Petya does not.
        var mashaPage = await PageAsync(Phone);
        await SignInAsync(mashaPage, masha.Phone);
        await OpenChatAsync(mashaPage, "6А");
        var mashaCard = MessageCard(mashaPage, Text);
        await Expect(mashaCard).ToHaveCountAsync(1);
        await WaitReadAsync(masha, school.Id, "6А");

        // Only the author is offered «Кто прочитал»: names in the right lists, everyone else of the chat unread.
        await Expect(mashaCard.GetByRole(AriaRole.Button, new() { Name = "Кто прочитал" })).ToHaveCountAsync(0);
        var who = mine.GetByRole(AriaRole.Button, new() { Name = "Кто прочитал" });
        await who.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Кто прочитал" });
        var read = dialog.GetByRole(AriaRole.List, new() { Name = "Прочитали", Exact = true });
        var unread = dialog.GetByRole(AriaRole.List, new() { Name = "Не прочитали", Exact = true });
        await Expect(read.GetByRole(AriaRole.Listitem)).ToHaveTextAsync(["Маша Белова"]);
        await Expect(unread.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Петя Орлов" })).ToHaveCountAsync(1);
        await Expect(unread).Not.ToContainTextAsync("Маша Белова");
        await Expect(unread).Not.ToContainTextAsync("Вера Павловна");
        var members = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{await School.ChatIdAsync(teacher, school.Id, "6А")}/members"));
        var notRead = members.GetArrayLength() - 2; // neither the author nor Masha
        await Expect(dialog.GetByRole(AriaRole.Heading, new() { Name = "Прочитали (1)", Exact = true })).ToBeVisibleAsync();
        await Expect(dialog.GetByRole(AriaRole.Heading, new() { Name = $"Не прочитали ({notRead})", Exact = true })).ToBeVisibleAsync();
        await Expect(unread.GetByRole(AriaRole.Listitem)).ToHaveCountAsync(notRead);
        await ScreenshotBoth(page, "read-by");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(who).ToBeFocusedAsync();

        // Masha forwards it to Petya: a pupil cannot post in the school channel, so it is not offered.
        await mashaCard.GetByRole(AriaRole.Button, new() { Name = "Переслать" }).ClickAsync();
        var forward = mashaPage.GetByRole(AriaRole.Dialog, new() { Name = "Переслать сообщение" });
        await Expect(forward.GetByRole(AriaRole.Radio, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Петя Орлов · Личный чат$") })).ToBeVisibleAsync();
        await Expect(forward.GetByRole(AriaRole.Radio, new() { Name = "Общешкольный канал" })).ToHaveCountAsync(0);
        await Expect(forward.GetByRole(AriaRole.Radio, new() { NameRegex = new System.Text.RegularExpressions.Regex("^6А ") })).ToHaveCountAsync(0); // not into the chat it is in
        var filter = forward.GetByLabel("Найти чат");
        await Expect(filter).ToBeFocusedAsync();
        await filter.FillAsync("пет");
        await Expect(forward.GetByRole(AriaRole.Radio)).ToHaveCountAsync(1);
        await ScreenshotBoth(mashaPage, "forward");
        await filter.PressAsync("Enter"); // the only chat left is the one chosen
        await Expect(forward).ToHaveCountAsync(0);
        await Expect(mashaPage.GetByRole(AriaRole.Status).Filter(new() { HasText = "Сообщение переслано в «Петя Орлов»." })).ToBeVisibleAsync();

        // Petya sees the copy in their direct chat with where it came from; the original stays where it was.
        var petyaPage = await PageAsync(Phone);
        await SignInAsync(petyaPage, petya.Phone);
        await OpenChatAsync(petyaPage, "Маша Белова");
        var copy = MessageCard(petyaPage, Text);
        await Expect(copy.Locator(".forwarded")).ToHaveTextAsync("Переслано из «6А» · Вера Павловна");
        await Expect(copy.Locator(".who")).ToHaveTextAsync("Маша Белова");
        await Expect(mashaCard.Locator(".forwarded")).ToHaveCountAsync(0);
        await Screenshot(petyaPage, "forwarded-phone");

        // In a direct chat nobody is asked «Кто прочитал»: the other person's read mark says it.
        await OpenChatAsync(mashaPage, "Петя Орлов");
        var mashaCopy = MessageCard(mashaPage, Text);
        await Expect(mashaCopy.GetByRole(AriaRole.Button, new() { Name = "Переслать" })).ToBeVisibleAsync();
        await Expect(mashaCopy.GetByRole(AriaRole.Button, new() { Name = "Кто прочитал" })).ToHaveCountAsync(0);
        // Someone else's words under their name: her forward is not hers to change.
        await Expect(mashaCopy.GetByRole(AriaRole.Button, new() { Name = "Изменить" })).ToHaveCountAsync(0);
    }

    /// <summary>
    /// The class teacher forwards the timetable (a PDF with a caption) from the pupils' chat to the parents' chat: a
    /// mother sees it there, marked as forwarded, and downloads it.
    /// </summary>
    [Fact]
    public async Task TeacherForwardsAFileToTheParents_AMotherDownloadsIt()
    {
        var school = await Scene.SchoolAsync("Школа №45");
        var classId = await school.ClassAsync("3В");
        var teacher = await school.TeacherAsync("Елена Викторовна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Ваня Клюев", classId);
        var mother = await school.ParentAsync("Мария Клюева", pupil.Id);
        var classChat = await School.ChatIdAsync(teacher, school.Id, "3В");
        await School.SendFilesAsync(teacher, classChat, [await School.UploadAsync(teacher, school.Id, "Расписание.pdf", SampleFiles.Pdf())], "Расписание на четверть");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "3В");
        await MessageCard(page, "Расписание на четверть").GetByRole(AriaRole.Button, new() { Name = "Переслать" }).ClickAsync();
        var forward = page.GetByRole(AriaRole.Dialog, new() { Name = "Переслать сообщение" });
        await forward.GetByRole(AriaRole.Radio, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Родители 3В") }).CheckAsync();
        await forward.GetByRole(AriaRole.Button, new() { Name = "Переслать" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Сообщение переслано в «Родители 3В»." })).ToBeVisibleAsync();

        var motherPage = await PageAsync(Phone);
        await SignInAsync(motherPage, mother.Phone);
        await OpenChatAsync(motherPage, "Родители 3В");
        var copy = MessageCard(motherPage, "Расписание на четверть");
        await Expect(copy.Locator(".forwarded")).ToHaveTextAsync("Переслано из «3В» · Елена Викторовна");
        var download = await motherPage.RunAndWaitForDownloadAsync(() => copy.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Скачать Расписание\\.pdf") }).ClickAsync());
        Assert.Equal(SampleFiles.Pdf(), await File.ReadAllBytesAsync(await download.PathAsync()));
    }

    [Fact]
    public async Task ForwardIntoChannel_AfterTheRightToPostWasTaken_IsRefusedInTheDialog_AnotherChatTakesIt()
    {
        var school = await Scene.SchoolAsync("Школа №42");
        var classId = await school.ClassAsync("7В");
        var teacher = await school.TeacherAsync("Ольга Николаевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Саша Котов", classId);
        await school.ParentAsync("Ирина Котова", pupil.Id);
        var channelId = await School.ChatIdAsync(school.Admin, school.Id, "Общешкольный канал");
        var chats = App.Services.GetRequiredService<ChatService>();
        await chats.SetMemberRoleAsync(channelId, school.Admin.Id, teacher.Id, "moderator", CancellationToken.None);
        const string Text = "Родительское собрание в четверг в 18:00";
        await School.SendAsync(teacher, await School.ChatIdAsync(teacher, school.Id, "7В"), Text);

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "7В");
        var card = MessageCard(page, Text);
        var forwardButton = card.GetByRole(AriaRole.Button, new() { Name = "Переслать" });
        await forwardButton.ClickAsync();
        var forward = page.GetByRole(AriaRole.Dialog, new() { Name = "Переслать сообщение" });
        var channel = forward.GetByRole(AriaRole.Radio, new() { Name = "Общешкольный канал" });
        await Expect(channel).ToBeVisibleAsync();

        // Meanwhile the admin takes away her right to post in the channel: the server refuses, the dialog says why.
        await chats.SetMemberRoleAsync(channelId, school.Admin.Id, teacher.Id, "member", CancellationToken.None);
        await channel.CheckAsync();
        await forward.GetByRole(AriaRole.Button, new() { Name = "Переслать" }).ClickAsync();
        await Expect(forward.GetByRole(AriaRole.Alert)).ToHaveTextAsync("В этом канале пишут только администраторы и назначенные ими авторы.");
        await Expect(channel).ToBeCheckedAsync();
        var history = await Scene.Read(await school.Admin.Http.GetAsync($"/api/chats/{channelId}/messages"));
        Assert.DoesNotContain(history.EnumerateArray(), m => m.GetProperty("text").GetString() == Text);

        // Nothing is lost: the message is still there, and the parents' chat takes it.
        await forward.GetByRole(AriaRole.Radio, new() { Name = "Родители 7В" }).CheckAsync();
        await forward.GetByRole(AriaRole.Button, new() { Name = "Переслать" }).ClickAsync();
        await Expect(forward).ToHaveCountAsync(0);
        await Expect(forwardButton).ToBeFocusedAsync();
        await Expect(card).ToHaveCountAsync(1);
        await OpenChatAsync(page, "Родители 7В");
        await Expect(MessageCard(page, Text).Locator(".forwarded")).ToHaveTextAsync("Переслано из «7В» · Ольга Николаевна");
    }

    /// <summary>Waits until the person's read mark of the chat reached the server (the page sends it shortly after showing the messages).</summary>
    private static async Task WaitReadAsync(ApiUser who, Guid schoolId, string title)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var chats = await Scene.Read(await who.Http.GetAsync($"/api/chats?schoolId={schoolId}"));
            var chat = chats.EnumerateArray().First(c => c.GetProperty("title").GetString() == title);
            if (chat.GetProperty("unreadCount").GetInt32() == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "MarkRead did not reach the server");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A parent reacts to a post of the school channel: another parent's reaction comes as a push that names nobody (a
    /// channel's readers are not shown to each other), yet her own stays shown as hers, and she can take it back.
    /// </summary>
    [Fact]
    public async Task ChannelReader_HerReactionStaysHers_WhenAPushNamesNobody_AndSheTakesItBack()
    {
        var school = await Scene.SchoolAsync("Школа №43");
        var classId = await school.ClassAsync("3Г");
        var pupil = await school.PupilAsync("Витя Котов", classId);
        var mother = await school.ParentAsync("Анна Котова", pupil.Id);
        var otherPupil = await school.PupilAsync("Лена Кротова", classId);
        var otherMother = await school.ParentAsync("Ольга Кротова", otherPupil.Id);
        var channelId = await School.ChatIdAsync(school.Admin, school.Id, "Общешкольный канал");
        await School.SendAsync(school.Admin, channelId, "Ярмарка в пятницу");

        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await OpenChatAsync(page, "Общешкольный канал");
        var card = MessageCard(page, "Ярмарка в пятницу");
        await card.GetByRole(AriaRole.Button, new() { Name = "Реакция" }).ClickAsync();
        await page.GetByRole(AriaRole.Group, new() { Name = "Выберите реакцию" }).GetByRole(AriaRole.Button, new() { Name = "👍" }).ClickAsync();
        var thumbs = card.Locator(".reaction");
        await Expect(thumbs).ToHaveTextAsync("👍 1");
        await Expect(thumbs).ToHaveAttributeAsync("aria-pressed", "true");

        // The other mother reacts too (on her phone): to her the reaction is counted, not named.
        var other = await PageAsync(Phone);
        await SignInAsync(other, otherMother.Phone);
        await OpenChatAsync(other, "Общешкольный канал");
        var otherThumbs = MessageCard(other, "Ярмарка в пятницу").Locator(".reaction");
        await Expect(otherThumbs).ToHaveTextAsync("👍 1");
        await Expect(otherThumbs).ToHaveAttributeAsync("aria-pressed", "false");
        await otherThumbs.ClickAsync();
        await Expect(otherThumbs).ToHaveTextAsync("👍 2");

        await Expect(thumbs).ToHaveTextAsync("👍 2");
        await Expect(thumbs).ToHaveAttributeAsync("aria-pressed", "true");

        // Her tablet at home has the channel open too: it shows her reaction as hers, and follows when she takes it
        // back on the phone (the channel's push names nobody; her devices are told which reactions are hers).
        var tablet = await PageAsync(Desktop);
        await SignInAsync(tablet, mother.Phone);
        await OpenChatAsync(tablet, "Общешкольный канал");
        var tabletThumbs = MessageCard(tablet, "Ярмарка в пятницу").Locator(".reaction");
        await Expect(tabletThumbs).ToHaveTextAsync("👍 2");
        await Expect(tabletThumbs).ToHaveAttributeAsync("aria-pressed", "true");

        await thumbs.ClickAsync();
        await Expect(thumbs).ToHaveTextAsync("👍 1");
        await Expect(thumbs).ToHaveAttributeAsync("aria-pressed", "false");
        await Expect(otherThumbs).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(tabletThumbs).ToHaveTextAsync("👍 1");
        await Expect(tabletThumbs).ToHaveAttributeAsync("aria-pressed", "false");

        // And the other way: a reaction she adds on the tablet is hers on the phone.
        await tabletThumbs.ClickAsync();
        await Expect(tabletThumbs).ToHaveTextAsync("👍 2");
        await Expect(thumbs).ToHaveTextAsync("👍 2");
        await Expect(thumbs).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(otherThumbs).ToHaveAttributeAsync("aria-pressed", "true");
    }
}
