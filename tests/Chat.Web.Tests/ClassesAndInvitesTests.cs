using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>The admin renames and archives classes; a chat's owner lists and revokes the chat's invite links in «О чате».</summary>
[Collection(WebCollection.Name)]
public sealed class ClassesAndInvitesTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Admin_RenamesClass_PupilsChatFollows_ArchivesAnEmptyOne_AndBringsItBack()
    {
        var school = await Scene.SchoolAsync("Школа №33");
        var a5 = await school.ClassAsync("5А");
        var b5 = await school.ClassAsync("5Б");
        var v5 = await school.ClassAsync("5В");
        var pupil = await school.PupilAsync("Маша Орлова", a5);
        await school.PupilAsync("Коля Быстров", b5);
        var api = $"/api/schools/{school.Id}";

        var pupilPage = await PageAsync(Phone);
        await SignInAsync(pupilPage, pupil.Phone);
        await Expect(ChatItem(pupilPage, "5А")).ToBeVisibleAsync();

        var (page, classes) = await AdminClassesAsync(school);

        // Renaming: the dialog says the chats follow; the class's and the parents' chats take the new name.
        await classes.GetByRole(AriaRole.Button, new() { Name = "Переименовать 5А" }).ClickAsync();
        var rename = page.GetByRole(AriaRole.Dialog, new() { Name = "Переименовать класс 5А" });
        await Expect(rename).ToContainTextAsync("Чаты «5А» и «Родители 5А» получат новое название.");
        await rename.GetByLabel("Новое название").FillAsync("5А инженерный");
        await rename.GetByRole(AriaRole.Button, new() { Name = "Переименовать" }).ClickAsync();
        await Expect(rename).ToHaveCountAsync(0);
        await Expect(classes.GetByRole(AriaRole.Button, new() { Name = "Переименовать 5А инженерный" })).ToBeFocusedAsync();
        var chats = await Scene.Read(await pupil.Http.GetAsync($"/api/chats?schoolId={school.Id}"));
        Assert.Contains(chats.EnumerateArray(), c => c.GetProperty("kind").GetString() == "class" && c.GetProperty("title").GetString() == "5А инженерный");
        await pupilPage.ReloadAsync();
        await Expect(ChatItem(pupilPage, "5А инженерный")).ToBeVisibleAsync();
        await Expect(ChatItem(pupilPage, "5А")).ToHaveCountAsync(0);

        // A class with a pupil is not archived: the server's refusal stays in the dialog.
        await classes.GetByRole(AriaRole.Button, new() { Name = "В архив 5Б" }).ClickAsync();
        var refused = page.GetByRole(AriaRole.Dialog, new() { Name = "Отправить 5Б в архив?" });
        await refused.GetByRole(AriaRole.Button, new() { Name = "В архив" }).ClickAsync();
        await Expect(refused).ToContainTextAsync("В классе ещё есть ученики.");
        await refused.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();

        // Archiving an empty class asks first and says what happens to the chats; cancelling keeps the class (focus
        // back on the button).
        var archive = classes.GetByRole(AriaRole.Button, new() { Name = "В архив 5В" });
        await archive.ClickAsync();
        var sure = page.GetByRole(AriaRole.Dialog, new() { Name = "Отправить 5В в архив?" });
        await Expect(sure).ToContainTextAsync("Чаты «5В», «Родители 5В» и предметные чаты класса станут архивом: история останется, писать в них будет нельзя.");
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(archive).ToBeFocusedAsync();
        await archive.ClickAsync();
        await sure.GetByRole(AriaRole.Button, new() { Name = "В архив" }).ClickAsync();
        var archived = classes.GetByRole(AriaRole.List, new() { Name = "Архив классов" });
        await Expect(archived.Locator("li")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^5В"));
        await Expect(classes.Locator("tbody tr", new() { HasText = "5В" })).ToHaveCountAsync(0);
        await Expect(page.Locator("#adm-inv-class option", new() { HasText = "5В" })).ToHaveCountAsync(0);
        await Expect(classes.Locator("tbody tr", new() { HasText = "5Б" })).ToHaveCountAsync(1);
        await classes.ScrollIntoViewIfNeededAsync();
        await ScreenshotBoth(page, "admin-classes");
        var active = await Scene.Read(await school.Admin.Http.GetAsync($"{api}/classes"));
        Assert.DoesNotContain(active.EnumerateArray(), c => c.GetProperty("id").GetGuid() == v5);
        Assert.Contains(active.EnumerateArray(), c => c.GetProperty("id").GetGuid() == b5);
        var all = await Scene.Read(await school.Admin.Http.GetAsync($"{api}/classes?includeArchived=true"));
        Assert.True(all.EnumerateArray().Single(c => c.GetProperty("id").GetGuid() == v5).GetProperty("archived").GetBoolean());

        // And back from the archive.
        await archived.GetByRole(AriaRole.Button, new() { Name = "Вернуть из архива 5В" }).ClickAsync();
        await Expect(classes.GetByRole(AriaRole.Button, new() { Name = "В архив 5В" })).ToBeFocusedAsync();
        await Expect(archived).ToHaveCountAsync(0);
    }

    /// <summary>
    /// The start of the year: a parent follows the class's parent link and waits for approval. His class teacher, in her
    /// chats, sees «Приглашения 1» at once (so does the admin on «Управление школой»), without opening «Заявки»; once it
    /// is decided the count goes.
    /// </summary>
    [Fact]
    public async Task ParentWaitsForApproval_TheClassTeacherAndTheAdminSeeTheCountLive_UntilDecided()
    {
        var school = await Scene.SchoolAsync("Школа №36");
        var a5 = await school.ClassAsync("5А");
        var teacher = await school.TeacherAsync("Анна Петровна", classTeacherOf: a5);
        await school.PupilAsync("Петя Смирнов", a5);
        var link = await school.InviteAsync("parent", a5);

        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await Expect(ChatItem(page, "5А")).ToBeVisibleAsync();
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
        var invitations = page.GetByRole(AriaRole.Button, new() { Name = "Приглашения" });
        await Expect(invitations.Locator(".badge")).ToHaveCountAsync(0);
        var admin = await PageAsync(Desktop);
        await SignInAsync(admin, school.Admin.Phone);
        await Expect(admin.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);

        var father = await App.SignInAsync(Scene.NewPhone(), "Олег Смирнов");
        var accepted = await Scene.Read(await father.Http.PostAsJsonAsync($"/api/invites/{link.GetProperty("token").GetString()}/accept", new { childName = "Петя Смирнов" }));
        Assert.Equal("pending", accepted.GetProperty("status").GetString());

        await Expect(invitations.Locator(".badge")).ToHaveTextAsync("1");
        await Expect(invitations.Locator(".badge")).ToHaveAttributeAsync("aria-label", "1 заявка ждёт решения");
        await Expect(admin.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).Locator(".badge")).ToHaveTextAsync("1");

        var requestId = accepted.GetProperty("joinRequestId").GetGuid();
        var petya = (await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/members"))).EnumerateArray()
            .Single(m => m.GetProperty("displayName").GetString() == "Петя Смирнов").GetProperty("accountId").GetGuid();
        await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/schools/{school.Id}/join-requests/{requestId}/approve", new { childId = petya }));
        await Expect(invitations.Locator(".badge")).ToHaveCountAsync(0);
        await Expect(admin.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).Locator(".badge")).ToHaveCountAsync(0);
    }

    /// <summary>
    /// «Приглашения» is a class teacher's: a teacher of no class has no such button (before, every teacher had it, and
    /// it opened onto «Приглашать учеников и родителей может классный руководитель…» and «Недостаточно прав для этого
    /// действия.»); a class teacher has it and it opens onto her class's links; a teacher made a class teacher while her
    /// page is open gets it without a reload.
    /// </summary>
    [Fact]
    public async Task Invitations_ShownToAClassTeacherOnly_NotToATeacherOfNoClass_UntilMadeOne()
    {
        var school = await Scene.SchoolAsync("Школа №37");
        var a5 = await school.ClassAsync("5А");
        var b5 = await school.ClassAsync("5Б");
        var classTeacher = await school.TeacherAsync("Анна Петровна", classTeacherOf: a5);
        var subjectTeacher = await school.TeacherAsync("Иван Предметник");

        var page = await PageAsync(Phone);
        await SignInAsync(page, subjectTeacher.Phone);
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Создать чат" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Приглашения" })).ToHaveCountAsync(0);

        var other = await PageAsync(Desktop);
        await SignInAsync(other, classTeacher.Phone);
        await other.GetByRole(AriaRole.Button, new() { Name = "Приглашения" }).ClickAsync();
        await Expect(other.GetByText("Приглашения: Школа №37")).ToBeVisibleAsync();
        await Expect(other.Locator("#adm-inv-class option")).ToHaveTextAsync(["5А"]);
        await Expect(other.GetByText("Недостаточно прав для этого действия.")).ToHaveCountAsync(0);

        // Made the class teacher of 5Б (she joins its chats): her screen is built again, with «Приглашения».
        (await school.Admin.Http.PutAsync($"/api/schools/{school.Id}/classes/{b5}/teachers/{subjectTeacher.Id}", null)).EnsureSuccessStatusCode();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Приглашения" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Admin_ApprovesAParentOfTwins_PicksBothChildren_TheParentIsLinkedToEach()
    {
        var school = await Scene.SchoolAsync("Школа №34");
        var a5 = await school.ClassAsync("5А");
        var petya = await school.PupilAsync("Петя Смирнов", a5);
        var masha = await school.PupilAsync("Маша Смирнова", a5);
        await school.PupilAsync("Вася Пупкин", a5);
        var link = await school.InviteAsync("parent", a5);
        var mother = await App.SignInAsync(Scene.NewPhone(), "Ольга Смирнова");
        var accepted = await Scene.Read(await mother.Http.PostAsJsonAsync($"/api/invites/{link.GetProperty("token").GetString()}/accept", new { childName = "Петя Смирнов" }));
        Assert.Equal("pending", accepted.GetProperty("status").GetString());

        // The child she named is picked; «+ ещё ребёнок» adds a picker for the twin, focused.
        var (page, _) = await AdminClassesAsync(school);
        var request = page.Locator("section[aria-labelledby=adm-requests] tbody tr", new() { HasText = "Ольга Смирнова" });
        await Expect(request.GetByLabel("Ребёнок для Ольга Смирнова").Locator("option:checked")).ToHaveTextAsync("Петя Смирнов");
        await request.GetByRole(AriaRole.Button, new() { Name = "+ ещё ребёнок" }).ClickAsync();
        var twin = request.GetByLabel("Ещё ребёнок для Ольга Смирнова");
        await Expect(twin).ToBeFocusedAsync();
        await twin.SelectOptionAsync(new SelectOptionValue { Label = "Маша Смирнова" });
        await request.GetByRole(AriaRole.Button, new() { Name = "Одобрить" }).ClickAsync();
        await Expect(page.GetByText("Новых заявок нет.")).ToBeVisibleAsync();

        var members = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/members"));
        var children = members.EnumerateArray().Single(m => m.GetProperty("accountId").GetGuid() == mother.Id)
            .GetProperty("children").EnumerateArray().Select(c => c.GetGuid());
        Assert.Equal(new[] { petya.Id, masha.Id }.Order(), children.Order());
    }

    [Fact]
    public async Task Admin_ParentNamedAChildNotInTheClassList_NobodyIsPickedForHim_ApprovingAsksForTheChild()
    {
        var school = await Scene.SchoolAsync("Школа №35");
        var a7 = await school.ClassAsync("7А");
        await school.PupilAsync("Алексей Андреев", a7); // first in the list
        var petya = await school.PupilAsync("Иванов Пётр", a7);
        var link = await school.InviteAsync("parent", a7);
        var father = await App.SignInAsync(Scene.NewPhone(), "Иван Иванов");
        await Scene.Read(await father.Http.PostAsJsonAsync($"/api/invites/{link.GetProperty("token").GetString()}/accept", new { childName = "Петя Иванов" }));

        // «Петя Иванов» is nobody's exact name here: the picker asks instead of offering the first pupil.
        var (page, _) = await AdminClassesAsync(school);
        var request = page.Locator("section[aria-labelledby=adm-requests] tbody tr", new() { HasText = "Иван Иванов" });
        var picker = request.GetByLabel("Ребёнок для Иван Иванов");
        await Expect(picker.Locator("option:checked")).ToHaveTextAsync("— выберите ребёнка —");
        await request.GetByRole(AriaRole.Button, new() { Name = "Одобрить" }).ClickAsync();
        await Expect(page.GetByText("Укажите ребёнка, с которым нужно связать родителя.")).ToBeVisibleAsync();
        var pending = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/join-requests?status=pending"));
        Assert.Single(pending.EnumerateArray(), r => r.GetProperty("accountId").GetGuid() == father.Id);

        await picker.SelectOptionAsync(new SelectOptionValue { Label = "Иванов Пётр" });
        await request.GetByRole(AriaRole.Button, new() { Name = "Одобрить" }).ClickAsync();
        await Expect(page.GetByText("Новых заявок нет.")).ToBeVisibleAsync();
        var members = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/members"));
        var children = members.EnumerateArray().Single(m => m.GetProperty("accountId").GetGuid() == father.Id).GetProperty("children").EnumerateArray().Select(c => c.GetGuid());
        Assert.Equal([petya.Id], children);
    }

    [Fact]
    public async Task NewParent_SeesHisRequestWaiting_ThenRefusedWithTheSchoolsReason()
    {
        var school = await Scene.SchoolAsync("Гимназия №3");
        var b6 = await school.ClassAsync("6Б");
        await school.PupilAsync("Лиза Котова", b6);
        var link = await school.InviteAsync("parent", b6);
        var father = await App.SignInAsync(Scene.NewPhone(), "Андрей Котов");
        var accepted = await Scene.Read(await father.Http.PostAsJsonAsync($"/api/invites/{link.GetProperty("token").GetString()}/accept", new { childName = "Лиза Котова" }));
        Assert.Equal("pending", accepted.GetProperty("status").GetString());

        // No school yet: the page says where his request waits, not only «ask for a link».
        var page = await PageAsync(Phone);
        await SignInAsync(page, father.Phone);
        var mine = page.GetByRole(AriaRole.Region, new() { Name = "Выберите школу" }).Locator("section.my-requests");
        await Expect(mine.GetByRole(AriaRole.Heading, new() { Name = "Мои заявки" })).ToBeVisibleAsync();
        await Expect(mine.Locator("li")).ToHaveCountAsync(1);
        await Expect(mine.Locator("li strong")).ToHaveTextAsync("Гимназия №3 · родитель · класс 6Б · ребёнок: Лиза Котова");
        await Expect(mine.Locator("li")).ToContainTextAsync("Ожидает рассмотрения");
        await Expect(page.GetByText("ваша заявка ждёт решения школы")).ToBeVisibleAsync();

        // The school refuses with a reason; «Проверить» shows it.
        await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/schools/{school.Id}/join-requests/{accepted.GetProperty("joinRequestId").GetGuid()}/reject",
            new { reason = "Родители 6Б уже в чате, обратитесь к классному руководителю" }));
        await mine.GetByRole(AriaRole.Button, new() { Name = "Проверить" }).ClickAsync();
        var refused = page.Locator("section.my-requests li");
        await Expect(refused).ToContainTextAsync("Заявка отклонена");
        await Expect(refused).ToContainTextAsync("Причина: Родители 6Б уже в чате, обратитесь к классному руководителю");
        await Expect(page.Locator("section.my-requests").GetByRole(AriaRole.Button, new() { Name = "Проверить" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ParentOfOneSchool_AppliesToASecond_SeesTheRequestWaitingInTheProfile()
    {
        var first = await Scene.SchoolAsync("Школа №39");
        var a2 = await first.ClassAsync("2А");
        var son = await first.PupilAsync("Саша Лебедев", a2);
        var mother = await first.ParentAsync("Вера Лебедева", son.Id);
        var second = await Scene.SchoolAsync("Гимназия №4");
        var b7 = await second.ClassAsync("7Б");
        await second.PupilAsync("Оля Лебедева", b7);
        var link = await second.InviteAsync("parent", b7);
        await Scene.Read(await mother.Http.PostAsJsonAsync($"/api/invites/{link.GetProperty("token").GetString()}/accept", new { childName = "Оля Лебедева" }));

        // One school, so no choice of school: «Профиль» tells her the gymnasium's request waits.
        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Школа №39");
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        var mine = page.Locator("section.my-requests");
        await Expect(mine.GetByRole(AriaRole.Heading, new() { Name = "Мои заявки" })).ToBeVisibleAsync();
        await Expect(mine.Locator("li strong")).ToHaveTextAsync("Гимназия №4 · родитель · класс 7Б · ребёнок: Оля Лебедева");
        await Expect(mine.Locator("li")).ToContainTextAsync("Ожидает рассмотрения");
    }

    [Fact]
    public async Task Teacher_AddsAPupilAndHerMother_ToHerClub_FromChatInfo_ByClassAndRole()
    {
        var school = await Scene.SchoolAsync("Школа №38");
        var a5 = await school.ClassAsync("5А");
        var teacher = await school.TeacherAsync("Олег Шахматов");
        var masha = await school.PupilAsync("Маша Белова", a5);
        await school.PupilAsync("Петя Чёрный", a5);
        var mother = await school.ParentAsync("Ирина Белова", masha.Id);
        var club = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats", new { kind = "group", title = "Шахматный клуб" }));
        var clubId = club.GetProperty("id").GetGuid();

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "Шахматный клуб");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        await panel.GetByRole(AriaRole.Button, new() { Name = "Добавить участников" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Добавить участников: Шахматный клуб" });
        var show = dialog.GetByLabel("Показать");
        await Expect(show).ToBeFocusedAsync();

        // Nobody ticked: said in the dialog. Then Маша among 5А's pupils and her mother among 5А's parents.
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Добавить" }).ClickAsync();
        await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Отметьте хотя бы одного человека.");
        await show.SelectOptionAsync(new SelectOptionValue { Label = "5А — ученики (2)" });
        await dialog.GetByLabel("Маша Белова").CheckAsync();
        await show.SelectOptionAsync(new SelectOptionValue { Label = "5А — родители (1)" });
        await dialog.GetByLabel("Ирина Белова").CheckAsync();
        await Expect(dialog.GetByRole(AriaRole.Status)).ToHaveTextAsync("Выбрано: 2");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Добавить" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(page.GetByText("Добавлено в чат: 2.")).ToBeVisibleAsync();
        await Expect(panel).ToContainTextAsync("Участники (3)");
        await Expect(panel.Locator("li.member", new() { HasText = "Маша Белова" })).ToHaveCountAsync(1);
        Assert.Contains(await MemberIdsAsync(teacher, clubId), id => id == mother.Id);
        Assert.Contains(await MemberIdsAsync(teacher, clubId), id => id == masha.Id);
    }

    private static async Task<List<Guid>> MemberIdsAsync(ApiUser who, Guid chatId) =>
        (await Scene.Read(await who.Http.GetAsync($"/api/chats/{chatId}/members"))).EnumerateArray().Select(m => m.GetProperty("accountId").GetGuid()).ToList();

    [Fact]
    public async Task Teacher_RevokesGroupInviteLink_InChatInfo_NewcomerSeesItRevoked()
    {
        var school = await Scene.SchoolAsync("Школа №34");
        var classId = await school.ClassAsync("9А");
        var teacher = await school.TeacherAsync("Нина Сергеевна", classTeacherOf: classId);
        var newcomer = await school.PupilAsync("Вася Новенький", classId);
        var chat = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "group", title = "Кружок рисования", rules = "Только о кружке." }));
        var chatId = chat.GetProperty("id").GetGuid();
        var posted = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/chats/{chatId}/invites", new { maxUses = 20 }));
        var token = posted.GetProperty("token").GetString();

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "Кружок рисования");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });

        // The active link: when, by whom, without expiry, 0 of 20 uses; its QR code.
        var links = panel.Locator("li.chat-invite-link");
        await Expect(links).ToHaveCountAsync(1);
        await Expect(links).ToContainTextAsync("Нина Сергеевна · бессрочная · использована 0 раз из 20");
        await Expect(links.GetByRole(AriaRole.Textbox)).ToHaveValueAsync(new System.Text.RegularExpressions.Regex($"/join/{token}$"));
        await links.GetByRole(AriaRole.Button, new() { Name = "QR-код" }).ClickAsync();
        var qr = links.Locator("img.qr");
        await Expect(qr).ToHaveJSPropertyAsync("complete", true);
        Assert.True(await qr.EvaluateAsync<int>("img => img.naturalWidth") > 100);
        await Screenshot(page, "chat-invites-desktop");

        // «Отозвать» asks first; cancelling keeps the link, confirming revokes it and the focus goes to the list's heading.
        var revoke = links.GetByRole(AriaRole.Button, new() { Name = "Отозвать" });
        await revoke.ClickAsync();
        var sure = page.GetByRole(AriaRole.Dialog, new() { Name = "Отозвать ссылку?" });
        await Expect(sure).ToContainTextAsync("Кто уже вступил, останется в чате.");
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(revoke).ToBeFocusedAsync();
        await revoke.ClickAsync();
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отозвать" }).ClickAsync();
        await Expect(links).ToHaveCountAsync(0);
        await Expect(panel).ToContainTextAsync("Действующих ссылок нет.");
        await Expect(panel.GetByRole(AriaRole.Heading, new() { Name = "Действующие ссылки" })).ToBeFocusedAsync();
        var listed = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/invites"));
        Assert.Equal("revoked", listed.EnumerateArray().Single().GetProperty("state").GetString());

        // A newcomer who opens the link is told it was revoked and cannot join.
        var newcomerPage = await PageAsync(Phone);
        await newcomerPage.GotoAsync($"{App.BaseUrl}/join/{token}");
        await SignInAsync(newcomerPage, newcomer.Phone, goTo: false);
        await Expect(newcomerPage.GetByRole(AriaRole.Heading, new() { Name = "Приглашение в чат" })).ToBeVisibleAsync();
        await Expect(newcomerPage.Locator(".card .error")).ToHaveTextAsync("Приглашение отозвано. Попросите новую ссылку.");
        await Expect(newcomerPage.GetByRole(AriaRole.Button, new() { Name = "Принимаю правила и вступаю" })).ToHaveCountAsync(0);
        await Screenshot(newcomerPage, "invite-revoked-phone");
        await newcomerPage.GetByRole(AriaRole.Button, new() { Name = "Продолжить" }).ClickAsync();
        await Expect(ChatItem(newcomerPage, "9А")).ToBeVisibleAsync();
        await Expect(ChatItem(newcomerPage, "Кружок рисования")).ToHaveCountAsync(0);
    }
}
