using Chat.Testing;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// The story, through the UI only (after the operator registered the school): an admin builds the school and
/// invites a teacher; the teacher invites a pupil and a parent; the pupil writes in the class chat and the parent reads
/// the parents' chat; a poll is voted; a file is sent and opened; the teacher blocks a pupil by the rules; an admin
/// posts in the school channel and every member sees it; a lesson call is started and joined.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class StoryTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Story_AdminBuildsSchool_TeacherInvites_PupilsAndParentTalk_Poll_File_Block_Channel_Lesson()
    {
        var school = await Scene.SchoolAsync("Школа №1 «Сфера»");

        // The admin builds the school: a class and an invite link for a teacher.
        var admin = await PageAsync(Desktop);
        await SignInAsync(admin, school.Admin.Phone);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        await admin.GetByLabel("Новый класс").FillAsync("5А");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Создать класс" }).ClickAsync();
        await Expect(admin.Locator("section[aria-labelledby=adm-classes] tr", new() { HasText = "5А" })).ToHaveCountAsync(1);
        await Expect(admin.Locator("#adm-inv-class option", new() { HasText = "5А" })).ToHaveCountAsync(1); // the invite form is redrawn with the new class
        await admin.GetByLabel("Роль").SelectOptionAsync("teacher");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Создать ссылку" }).ClickAsync();
        var teacherLink = await InviteUrlAsync(admin, "учитель");

        // The teacher follows the link as a new person; the school approves staff, so the request waits.
        var teacher = await PageAsync(Desktop);
        await JoinAsNewPersonAsync(teacher, teacherLink, "Мария Ивановна");
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Принять приглашение" }).ClickAsync();
        await Expect(teacher.GetByRole(AriaRole.Heading, new() { Name = "Заявка отправлена" })).ToBeVisibleAsync();

        // The admin approves her, verifies her as a teacher and makes her 5А's class teacher.
        await ReopenAdminAsync(admin, "Управление школой");
        var request = admin.Locator("section[aria-labelledby=adm-requests] tbody tr", new() { HasText = "Мария Ивановна" });
        await request.GetByRole(AriaRole.Button, new() { Name = "Одобрить" }).ClickAsync();
        var staffRow = admin.Locator("section[aria-labelledby=adm-staff] tbody tr", new() { HasText = "Мария Ивановна" });
        await staffRow.GetByRole(AriaRole.Button, new() { Name = "Подтвердить учителя" }).ClickAsync();
        await Expect(staffRow).ToContainTextAsync("подтверждён");
        await admin.GetByLabel("Классный руководитель для 5А").SelectOptionAsync(new SelectOptionValue { Label = "Мария Ивановна" });
        await admin.Locator("section[aria-labelledby=adm-classes] tr", new() { HasText = "5А" }).GetByRole(AriaRole.Button, new() { Name = "Назначить" }).ClickAsync();
        await Expect(admin.Locator("section[aria-labelledby=adm-classes] tr", new() { HasText = "5А" })).ToContainTextAsync("Мария Ивановна");
        await ScreenshotBoth(admin, "admin-staff");

        // The teacher invites pupils and parents of her class, with a QR code.
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Продолжить" }).ClickAsync();
        await Expect(ChatItem(teacher, "5А")).ToBeVisibleAsync();
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Приглашения" }).ClickAsync();
        await teacher.GetByLabel("Роль").SelectOptionAsync("student");
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Создать ссылку" }).ClickAsync();
        var pupilLink = await InviteUrlAsync(teacher, "ученик");
        await teacher.GetByLabel("Роль").SelectOptionAsync("parent");
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Создать ссылку" }).ClickAsync();
        var parentLink = await InviteUrlAsync(teacher, "родитель");
        await InviteRow(teacher, "ученик").GetByRole(AriaRole.Button, new() { Name = "QR-код" }).ClickAsync();
        await teacher.WaitForFunctionAsync("() => document.querySelector('img.qr')?.naturalWidth > 0");
        await ScreenshotBoth(teacher, "teacher-invites");

        // Two pupils join by the link; a parent joins by the class-wide link, naming the child, and the teacher approves.
        var pupil = await PageAsync(Phone);
        await JoinAsNewPersonAsync(pupil, pupilLink, "Петя Смирнов");
        await pupil.GetByRole(AriaRole.Button, new() { Name = "Принять приглашение" }).ClickAsync();
        await Expect(ChatItem(pupil, "5А")).ToBeVisibleAsync();
        var vasya = await PageAsync(Phone);
        await JoinAsNewPersonAsync(vasya, pupilLink, "Вася Пупкин");
        await vasya.GetByRole(AriaRole.Button, new() { Name = "Принять приглашение" }).ClickAsync();
        await Expect(ChatItem(vasya, "5А")).ToBeVisibleAsync();

        var parent = await PageAsync(Phone);
        await JoinAsNewPersonAsync(parent, parentLink, "Ольга Смирнова");
        await parent.GetByLabel("Имя и фамилия ребёнка").FillAsync("Петя Смирнов");
        await parent.GetByRole(AriaRole.Button, new() { Name = "Принять приглашение" }).ClickAsync();
        await Expect(parent.GetByRole(AriaRole.Heading, new() { Name = "Заявка отправлена" })).ToBeVisibleAsync();
        await ReopenAdminAsync(teacher, "Приглашения");
        var parentRequest = teacher.Locator("section[aria-labelledby=adm-requests] tbody tr", new() { HasText = "Ольга Смирнова" });
        await Expect(parentRequest.GetByLabel("Ребёнок для Ольга Смирнова")).ToHaveValueAsync(new Regex(".+"));
        await Expect(parentRequest.GetByLabel("Ребёнок для Ольга Смирнова").Locator("option:checked")).ToHaveTextAsync("Петя Смирнов");
        await parentRequest.GetByRole(AriaRole.Button, new() { Name = "Одобрить" }).ClickAsync();
        await Expect(teacher.GetByText("Новых заявок нет.")).ToBeVisibleAsync();
        await parent.GetByRole(AriaRole.Button, new() { Name = "Продолжить" }).ClickAsync();
        await Expect(ChatItem(parent, "Родители 5А")).ToBeVisibleAsync();

        // The pupil writes in the class chat, mentioning the teacher; she sees it live, highlighted.
        await teacher.GetByRole(AriaRole.Button, new() { Name = "← К чатам" }).ClickAsync();
        await OpenChatAsync(teacher, "5А");
        await OpenChatAsync(pupil, "5А");
        await OpenChatAsync(vasya, "5А");
        var box = pupil.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await box.PressSequentiallyAsync("Здравствуйте, @Мар");
        await pupil.GetByRole(AriaRole.Option, new() { Name = "Мария Ивановна" }).ClickAsync();
        await box.PressSequentiallyAsync("я сделал проект!");
        await box.PressAsync("Enter");
        var greeting = "Здравствуйте, @Мария Ивановна я сделал проект!";
        await Expect(Message(teacher, greeting)).ToHaveCountAsync(1);
        await Expect(MessageCard(teacher, greeting).Locator("mark.mention")).ToHaveTextAsync("@Мария Ивановна");
        await Expect(MessageCard(teacher, greeting)).ToHaveClassAsync(new Regex("mentions-me"));

        // The teacher writes in the parents' chat; the parent sees it unread and reads it.
        await OpenChatAsync(teacher, "Родители 5А");
        await SendAsync(teacher, "Уважаемые родители, собрание в четверг в 18:00");
        await Expect(ChatItem(parent, "Родители 5А").Locator(".badge")).ToHaveTextAsync("1");
        await OpenChatAsync(parent, "Родители 5А");
        await Expect(Message(parent, "Уважаемые родители, собрание в четверг в 18:00")).ToHaveCountAsync(1);
        await Expect(ChatItem(parent, "Родители 5А").Locator(".badge")).ToHaveCountAsync(0);

        // A poll in the class chat: the pupil votes, the teacher sees the result live.
        await OpenChatAsync(teacher, "5А");
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Создать опрос" }).ClickAsync();
        var dialog = teacher.GetByRole(AriaRole.Dialog, new() { Name = "Новый опрос" });
        await dialog.GetByLabel("Вопрос").FillAsync("Куда поедем на экскурсию?");
        await dialog.GetByLabel("Вариант 1").FillAsync("В планетарий");
        await dialog.GetByLabel("Вариант 2").FillAsync("В зоопарк");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Создать опрос" }).ClickAsync();
        var poll = pupil.GetByRole(AriaRole.Group, new() { Name = "Опрос: Куда поедем на экскурсию?" });
        await poll.GetByLabel("В зоопарк").CheckAsync();
        await poll.GetByRole(AriaRole.Button, new() { Name = "Голосовать" }).ClickAsync();
        await Expect(poll).ToContainTextAsync("ваш голос учтён");
        var teacherPoll = teacher.GetByRole(AriaRole.Group, new() { Name = "Опрос: Куда поедем на экскурсию?" });
        await Expect(teacherPoll).ToContainTextAsync("Проголосовали: 1");
        await ScreenshotBoth(pupil, "chat-poll");

        // A file: the teacher sends the homework as a PDF; the pupil opens (downloads) it.
        await teacher.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Домашнее задание.pdf", "application/pdf", SampleFiles.Pdf()));
        var doc = pupil.GetByRole(AriaRole.Button, new() { Name = "Скачать Домашнее задание.pdf" });
        await Expect(doc).ToBeVisibleAsync();
        var download = await pupil.RunAndWaitForDownloadAsync(() => doc.ClickAsync());
        Assert.Equal("Домашнее задание.pdf", download.SuggestedFilename);
        Assert.StartsWith("%PDF-", await File.ReadAllTextAsync(await download.PathAsync()), StringComparison.Ordinal);

        // Вася breaks the rules; the teacher records four violations and blocks him until a date, citing a rule.
        await SendAsync(vasya, "КУПИТЕ ИГРУ ПО ССЫЛКЕ!!!");
        await Expect(Message(teacher, "КУПИТЕ ИГРУ ПО ССЫЛКЕ!!!")).ToHaveCountAsync(1);
        await (await HeaderMenuItemAsync(teacher, "О чате")).ClickAsync();
        var member = teacher.Locator(".side-panel li.member", new() { HasText = "Вася Пупкин" });
        for (var i = 1; i <= 4; i++)
        {
            await member.GetByRole(AriaRole.Button, new() { Name = "Нарушение" }).ClickAsync();
            var violation = teacher.GetByRole(AriaRole.Dialog);
            await violation.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
            await violation.GetByRole(AriaRole.Button, new() { Name = "Записать нарушение" }).ClickAsync();
            await Expect(member).ToContainTextAsync($"Нарушений: {i}");
        }

        await member.GetByRole(AriaRole.Button, new() { Name = "Заблокировать" }).ClickAsync();
        var block = teacher.GetByRole(AriaRole.Dialog);
        await block.GetByLabel("Причина").FillAsync("Реклама в чате класса");
        await block.GetByRole(AriaRole.Button, new() { Name = "Заблокировать" }).ClickAsync();
        await Expect(member).ToContainTextAsync("Заблокирован до");
        await Expect(vasya.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Вы заблокированы в этом чате" })).ToBeVisibleAsync();
        await Expect(vasya.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToHaveCountAsync(0);
        await ScreenshotBoth(teacher, "moderation");
        await teacher.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();

        // The admin posts in the school channel; the teacher, the pupils and the parent all see it.
        await admin.GetByRole(AriaRole.Button, new() { Name = "← К чатам" }).ClickAsync();
        await OpenChatAsync(admin, "Общешкольный канал");
        await SendAsync(admin, "1 сентября — торжественная линейка в 9:00");
        foreach (var page in new[] { teacher, pupil, vasya, parent })
        {
            await OpenChatAsync(page, "Общешкольный канал");
            await Expect(Message(page, "1 сентября — торжественная линейка в 9:00")).ToHaveCountAsync(1);
        }

        // A lesson: the teacher starts it from the class chat; the pupil sees it announced and joins.
        await OpenChatAsync(teacher, "5А");
        await OpenChatAsync(pupil, "5А");
        var teacherCall = await teacher.RunAndWaitForPopupAsync(() => teacher.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(teacherCall.Locator("#participants")).ToContainTextAsync("Мария Ивановна (вы)");
        await Expect(pupil.Locator(".call-banner")).ToContainTextAsync("Идёт урок");
        var pupilCall = await pupil.RunAndWaitForPopupAsync(() => pupil.GetByRole(AriaRole.Link, new() { Name = "Присоединиться" }).ClickAsync());
        await Expect(pupilCall.Locator("#status")).ToHaveTextAsync("Вы на уроке.");
        await Expect(pupilCall.Locator("#participants li")).ToHaveCountAsync(2);
        await Expect(pupilCall.Locator("#participants")).ToContainTextAsync("Петя Смирнов (вы)");
        await Expect(pupilCall.Locator("#participants")).ToContainTextAsync("Мария Ивановна");
        await Expect(teacherCall.Locator("#participants li", new() { HasText = "Петя Смирнов" })).ToContainTextAsync("слушает");

        // Host controls: the teacher lets the pupil speak.
        await teacherCall.Locator("#participants li", new() { HasText = "Петя Смирнов" }).GetByRole(AriaRole.Button, new() { Name = "Разрешить говорить" }).ClickAsync();
        await Expect(pupilCall.Locator("#participants li", new() { HasText = "Петя Смирнов" })).Not.ToContainTextAsync("слушает");
        await Screenshot(teacherCall, "call-desktop");
        await EndCallForAllAsync(teacherCall);
        await Expect(pupilCall.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        await Expect(pupil.Locator(".call-banner")).ToHaveCountAsync(0);
    }

    private async Task JoinAsNewPersonAsync(IPage page, string link, string name)
    {
        await page.GotoAsync(link.Replace("http://127.0.0.1", App.BaseUrl, StringComparison.Ordinal));
        await SignInAsync(page, Scene.NewPhone(), goTo: false);
        await page.GetByLabel("Имя и фамилия", new() { Exact = true }).FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Продолжить" }).ClickAsync();
    }

    private static ILocator InviteRow(IPage page, string role) =>
        page.Locator("section[aria-labelledby=adm-invites] tbody tr", new() { Has = page.Locator("td:first-child", new() { HasTextRegex = new Regex("^" + role + "$") }) });

    private static async Task<string> InviteUrlAsync(IPage page, string role)
    {
        var input = InviteRow(page, role).GetByRole(AriaRole.Textbox);
        await Expect(input).ToHaveValueAsync(new Regex("/join/[A-Za-z0-9_-]{16,64}$"));
        return await input.InputValueAsync();
    }

    /// <summary>Back to the chats and into the admin page again: it shows what changed meanwhile.</summary>
    private static async Task ReopenAdminAsync(IPage page, string button)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "← К чатам" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Заявки на вступление" })).ToBeVisibleAsync();
    }
}
