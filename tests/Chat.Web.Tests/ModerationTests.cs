using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>A chat's owner mutes a member for a few hours and removes another from the chat, in «О чате».</summary>
[Collection(WebCollection.Name)]
public sealed class ModerationTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Teacher_MutesPupil_PupilCannotWrite_Unmutes_RemovesAnother_WhoLosesTheChat()
    {
        var school = await Scene.SchoolAsync("Школа №31");
        var classId = await school.ClassAsync("8Б");
        var teacher = await school.TeacherAsync("Вера Павловна", classTeacherOf: classId);
        var petya = await school.PupilAsync("Петя Смирнов", classId);
        var olya = await school.PupilAsync("Оля Никитина", classId);
        var chat = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "subject", title = "Алгебра 8Б", classId, memberIds = new[] { petya.Id, olya.Id } }));
        var chatId = chat.GetProperty("id").GetGuid();

        var petyaPage = await PageAsync(Phone);
        await SignInAsync(petyaPage, petya.Phone);
        await OpenChatAsync(petyaPage, "Алгебра 8Б");
        var petyaBox = petyaPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await Expect(petyaBox).ToBeVisibleAsync();

        // A plain member has no moderation in «О чате».
        await (await HeaderMenuItemAsync(petyaPage, "О чате")).ClickAsync();
        var petyaPanel = petyaPage.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        await Expect(petyaPanel.Locator("li.member", new() { HasText = "Оля Никитина" })).ToBeVisibleAsync();
        await Expect(petyaPanel.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" })).ToHaveCountAsync(0);
        await Expect(petyaPanel.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" })).ToHaveCountAsync(0);
        await petyaPanel.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();

        var olyaPage = await PageAsync(Phone);
        await SignInAsync(olyaPage, olya.Phone);
        await OpenChatAsync(olyaPage, "Алгебра 8Б");

        // The teacher (the chat's owner) mutes Petya for three hours, citing a rule.
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "Алгебра 8Б");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        var petyaRow = panel.Locator("li.member", new() { HasText = "Петя Смирнов" });
        await petyaRow.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" }).ClickAsync();
        var mute = page.GetByRole(AriaRole.Dialog, new() { Name = "Запретить писать: Петя Смирнов" });
        await mute.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await mute.GetByLabel("На сколько").SelectOptionAsync(new SelectOptionValue { Label = "3 часа" });
        await mute.GetByLabel("Причина").FillAsync("Флуд во время урока");
        await mute.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" }).ClickAsync();
        await Expect(mute).ToHaveCountAsync(0);
        await Expect(petyaRow).ToContainTextAsync("Не может писать до");

        // Petya sees why and until when, and has no input box; Olya still writes.
        var banner = petyaPage.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Вы не можете писать в этом чате" });
        await Expect(banner).ToContainTextAsync("Причина: Флуд во время урока");
        await Expect(petyaBox).ToBeHiddenAsync();
        await Expect(olyaPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeVisibleAsync();
        var audit = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/audit?limit=20"));
        var muted = audit.EnumerateArray().Single(e => e.GetProperty("action").GetString() == "moderation.muted");
        Assert.Equal(petya.Id, muted.GetProperty("subjectId").GetGuid());
        Assert.Contains("\"Minutes\":180", muted.GetProperty("details").GetString()!.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);

        // «Разрешить писать» lifts it at once.
        await petyaRow.GetByRole(AriaRole.Button, new() { Name = "Разрешить писать" }).ClickAsync();
        await Expect(banner).ToHaveCountAsync(0);
        await Expect(petyaBox).ToBeVisibleAsync();
        await Expect(petyaRow).Not.ToContainTextAsync("Не может писать");

        // Removing Olya asks first: cancelling keeps her.
        var olyaRow = panel.Locator("li.member", new() { HasText = "Оля Никитина" });
        await olyaRow.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" }).ClickAsync();
        var remove = page.GetByRole(AriaRole.Dialog, new() { Name = "Удалить из чата: Оля Никитина" });
        await Expect(remove).ToContainTextAsync("перестанет видеть чат «Алгебра 8Б»");
        await remove.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(remove).ToHaveCountAsync(0);
        await Expect(olyaRow).ToBeVisibleAsync();

        await olyaRow.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" }).ClickAsync();
        await remove.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await remove.GetByLabel("Причина").FillAsync("Перевелась в другую группу");
        await remove.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" }).ClickAsync();
        await Expect(remove).ToHaveCountAsync(0);
        await Expect(olyaRow).ToHaveCountAsync(0);
        await Expect(panel).ToContainTextAsync("Участники (2)");
        await ScreenshotBoth(page, "moderation-members");

        // Olya's open chat closes and leaves her list; the server agrees.
        await Expect(olyaPage.GetByText("Вы больше не участник этого чата.")).ToBeVisibleAsync();
        await olyaPage.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await Expect(ChatItem(olyaPage, "8Б")).ToBeVisibleAsync();
        await Expect(ChatItem(olyaPage, "Алгебра 8Б")).ToHaveCountAsync(0);
        var members = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/members"));
        Assert.DoesNotContain(members.EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == olya.Id);

        // The class chat's members come from the school's roster: it offers a mute but no removal.
        await OpenChatAsync(page, "8Б");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var classRow = panel.Locator("li.member", new() { HasText = "Оля Никитина" });
        await Expect(classRow.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" })).ToBeVisibleAsync();
        await Expect(classRow.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" })).ToHaveCountAsync(0);
    }
}
