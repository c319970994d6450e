using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Read ticks on my own messages (GetChat's othersReadSeq, ReadPosition pushes) and «Кто прочитал» live.</summary>
[Collection(WebCollection.Name)]
public sealed class ReadTicksTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task ParentsMessage_TurnsReadWhenAnotherParentOpensTheChat_StaysReadAfterReload_WhoReadFollowsLive()
    {
        var school = await Scene.SchoolAsync("Школа №51");
        var classId = await school.ClassAsync("3Б");
        var teacher = await school.TeacherAsync("Галина Петровна", classTeacherOf: classId);
        var anya = await school.PupilAsync("Аня Соколова", classId);
        var vanya = await school.PupilAsync("Ваня Зайцев", classId);
        var olga = await school.ParentAsync("Ольга Соколова", anya.Id);
        var sergey = await school.ParentAsync("Сергей Зайцев", vanya.Id);
        const string Title = "Родители 3Б";
        const string Text = "Кто сможет помочь с ёлкой в пятницу?";

        // Ольга writes: stored by the server, read by nobody yet — one tick.
        var page = await PageAsync(Phone);
        await SignInAsync(page, olga.Phone);
        await OpenChatAsync(page, Title);
        await SendAsync(page, Text);
        var tick = MessageCard(page, Text).Locator(".meta .tick");
        await Expect(tick).ToHaveTextAsync("✓");
        await Expect(tick).ToHaveAttributeAsync("aria-label", "Доставлено");

        // Сергей opens the chat (and so reads it): her message turns «✓✓» while she looks at it.
        var sergeyPage = await PageAsync(Desktop);
        await SignInAsync(sergeyPage, sergey.Phone);
        await OpenChatAsync(sergeyPage, Title);
        await Expect(MessageCard(sergeyPage, Text)).ToHaveCountAsync(1);
        await Expect(tick).ToHaveTextAsync("✓✓");
        await Expect(tick).ToHaveAttributeAsync("aria-label", "Прочитано");
        await Expect(MessageCard(sergeyPage, Text).Locator(".tick")).ToHaveCountAsync(0); // not his message

        // Opened again (a reload), the chat says so from the start: GetChat's othersReadSeq.
        await page.ReloadAsync();
        await OpenChatAsync(page, Title);
        await Expect(tick).ToHaveTextAsync("✓✓");
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Прочитано" })).ToHaveCountAsync(1);
        await Screenshot(page, "read-ticks-phone");

        // «Кто прочитал»: Сергей; the class teacher not yet — until she opens the chat while the dialog is open.
        await MessageCard(page, Text).GetByRole(AriaRole.Button, new() { Name = "Кто прочитал" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Кто прочитал" });
        var read = dialog.GetByRole(AriaRole.List, new() { Name = "Прочитали", Exact = true });
        var unread = dialog.GetByRole(AriaRole.List, new() { Name = "Не прочитали", Exact = true });
        await Expect(read.GetByRole(AriaRole.Listitem)).ToHaveTextAsync(["Сергей Зайцев"]);
        await Expect(unread.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Галина Петровна" })).ToHaveCountAsync(1);
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, Title);
        await Expect(read.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Галина Петровна" })).ToHaveCountAsync(1);
        await Expect(read.GetByRole(AriaRole.Listitem)).ToHaveCountAsync(2);
        await Expect(dialog.GetByRole(AriaRole.Heading, new() { Name = "Прочитали (2)", Exact = true })).ToBeVisibleAsync();
        await Expect(dialog.GetByRole(AriaRole.Heading, new() { Name = "Не прочитали (0)", Exact = true })).ToBeVisibleAsync();
        await Expect(unread).ToHaveCountAsync(0);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);

        // With the others gone, a new message is «✓» while the earlier one stays «✓✓»; Сергей reads it (another
        // device, over HTTP) and only the new mark changes.
        await sergeyPage.CloseAsync();
        await teacherPage.CloseAsync();
        const string Later = "Спасибо, Сергей!";
        await SendAsync(page, Later);
        var laterTick = MessageCard(page, Later).Locator(".meta .tick");
        await Expect(laterTick).ToHaveTextAsync("✓");
        await Expect(tick).ToHaveTextAsync("✓✓");
        var chatId = await School.ChatIdAsync(sergey, school.Id, Title);
        var last = (await Scene.Read(await sergey.Http.GetAsync($"/api/chats/{chatId}/messages"))).EnumerateArray().Last().GetProperty("seq").GetInt64();
        await Scene.Read(await sergey.Http.PostAsJsonAsync($"/api/chats/{chatId}/read", new { seq = last }));
        await Expect(laterTick).ToHaveTextAsync("✓✓");
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Прочитано" })).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task ChatAboveTheReadReceiptsLimit_ShowsOneTickEvenWhenRead()
    {
        var school = await Scene.SchoolAsync("Школа №52");
        var classId = await school.ClassAsync("4А");
        var pupil = await school.PupilAsync("Лёва Ершов", classId);
        var mother = await school.ParentAsync("Нина Ершова", pupil.Id);
        var chatId = await School.ChatIdAsync(mother, school.Id, "Родители 4А");
        const string Text = "Собрание перенесли на среду";
        await School.SendAsync(mother, chatId, Text);

        // Fifty more parents, who have all read everything: the chat is over the limit, positions stay private.
        await App.ExecuteSqlAsync(
            """
            WITH extra AS (
                INSERT INTO accounts (id, display_name, email)
                SELECT gen_random_uuid(), 'Родитель ' || n, gen_random_uuid() || '@example.invalid' FROM generate_series(1, 50) n
                RETURNING id)
            INSERT INTO chat_members (chat_id, account_id, read_seq) SELECT @chatId, id, 1000 FROM extra
            """,
            new { chatId });

        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await OpenChatAsync(page, "Родители 4А");
        var tick = MessageCard(page, Text).Locator(".meta .tick");
        await Expect(tick).ToHaveTextAsync("✓");
        await Expect(tick).ToHaveAttributeAsync("aria-label", "Доставлено");
    }
}
