using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>The school's year through «Управление школой»: policy, director, pupils moving and leaving, staff leaving, rules, rollover.</summary>
[Collection(WebCollection.Name)]
public sealed class AdministrationTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Admin_SetsPolicy_AppointsDirector_MovesAndRemovesPupils_StaffLeaves_EditsRules_RollsTheYearOver()
    {
        var school = await Scene.SchoolAsync("Школа №32");
        // Classes of the year that ends: the rollover below moves the school into the year that starts this September.
        var ending = DateTime.UtcNow.Year - 1;
        var a5 = await school.ClassAsync("5А", ending);
        var b5 = await school.ClassAsync("5Б", ending);
        var a11 = await school.ClassAsync("11А", ending);
        var ivan = await school.TeacherAsync("Иван Петрович");
        var leaving = await school.TeacherAsync("Пётр Уходящий");
        var dima = await school.PupilAsync("Дима Ковалёв", a5);
        var dimasMother = await school.ParentAsync("Ольга Ковалёва", dima.Id);
        var liza = await school.PupilAsync("Лиза Морозова", a5);
        var stranger = await school.ParentAsync("Посторонний Родитель", liza.Id); // linked to Liza by mistake
        var sasha = await school.PupilAsync("Саша Выпускник", a11);
        var api = $"/api/schools/{school.Id}";

        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();

        // Approval policy and safe mode; turning safe mode off asks first.
        var info = page.Locator("#adm-school-sec");
        await info.GetByLabel("Ученики вступают по ссылке только после одобрения").CheckAsync();
        await info.GetByLabel("Режим безопасности для учеников", new() { Exact = false }).UncheckAsync();
        await info.GetByRole(AriaRole.Button, new() { Name = "Сохранить" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Выключить режим безопасности?" });
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Выключить" }).ClickAsync();
        await Expect(info).ToContainTextAsync("Сохранено.");
        var settings = await Scene.Read(await school.Admin.Http.GetAsync(api));
        Assert.True(settings.GetProperty("approveStudents").GetBoolean());
        Assert.False(settings.GetProperty("pupilSafeMode").GetBoolean());

        // The director is a verified teacher.
        var staff = page.Locator("#adm-staff-sec");
        var ivanRow = staff.Locator("tr", new() { HasText = "Иван Петрович" });
        await ivanRow.GetByRole(AriaRole.Button, new() { Name = "Назначить директором" }).ClickAsync();
        await Expect(ivanRow).ToContainTextAsync("директор");
        await Expect(ivanRow.GetByRole(AriaRole.Button, new() { Name = "Снять директора" })).ToBeVisibleAsync();
        Assert.Contains("director", Roles(await Members(school, api), ivan.Id));

        // Taking a right away asks first and says what follows: her own admin rights (cancelled here), a teacher's
        // verification (his class teaching goes with it).
        var adminRow = staff.Locator("tr", new() { HasText = "Анна Администратор" });
        await adminRow.GetByRole(AriaRole.Button, new() { Name = "Снять администратора" }).ClickAsync();
        var selfDemotion = page.GetByRole(AriaRole.Dialog, new() { Name = "Снять администратора: Анна Администратор" });
        await Expect(selfDemotion).ToContainTextAsync("Вы снимете права администратора с себя");
        await selfDemotion.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(selfDemotion).ToHaveCountAsync(0);
        Assert.Contains("admin", Roles(await Members(school, api), school.Admin.Id));
        var curator = await school.TeacherAsync("Мария Кураторова", classTeacherOf: b5);
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        var curatorRow = staff.Locator("tr", new() { HasText = "Мария Кураторова" });
        await curatorRow.GetByRole(AriaRole.Button, new() { Name = "Снять подтверждение" }).ClickAsync();
        var unverify = page.GetByRole(AriaRole.Dialog, new() { Name = "Снять подтверждение: Мария Кураторова" });
        await Expect(unverify).ToContainTextAsync("классное руководство (5Б) будет снято");
        await unverify.GetByRole(AriaRole.Button, new() { Name = "Снять подтверждение" }).ClickAsync();
        await Expect(curatorRow).ToContainTextAsync("не подтверждён");
        var curatorNow = (await Members(school, api)).EnumerateArray().Single(m => m.GetProperty("accountId").GetGuid() == curator.Id);
        Assert.False(curatorNow.GetProperty("verifiedTeacher").GetBoolean());
        Assert.Equal(0, curatorNow.GetProperty("classTeacherOf").GetArrayLength());

        // A staff member leaves (after a confirmation): out of the staff list and the school.
        var leavingRow = staff.Locator("tr", new() { HasText = "Пётр Уходящий" });
        await leavingRow.GetByRole(AriaRole.Button, new() { Name = "Покинул школу" }).ClickAsync();
        var staffLeaves = page.GetByRole(AriaRole.Dialog, new() { Name = "Сотрудник покидает школу: Пётр Уходящий" });
        await staffLeaves.GetByLabel("Причина (в журнал)").FillAsync("Переезд");
        await staffLeaves.GetByRole(AriaRole.Button, new() { Name = "Исключить из школы" }).ClickAsync();
        await Expect(leavingRow).ToHaveCountAsync(0);
        Assert.DoesNotContain((await Members(school, api)).EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == leaving.Id);

        // Dima moves from 5А to 5Б, his mother with him.
        var pupils = page.Locator("#adm-pupils-sec");
        var dimaRow = pupils.Locator("tr", new() { HasText = "Дима Ковалёв" });
        await dimaRow.GetByLabel("Куда перевести: Дима Ковалёв").SelectOptionAsync(new SelectOptionValue { Label = "5Б" });
        await dimaRow.GetByRole(AriaRole.Button, new() { Name = "Перевести" }).ClickAsync();
        var move = page.GetByRole(AriaRole.Dialog, new() { Name = "Перевести Дима Ковалёв в 5Б?" });
        await Expect(move).ToContainTextAsync("выйдет из чатов класса 5А (и из его предметных чатов и групп) и войдёт в чат класса 5Б и чат его родителей");
        await move.GetByRole(AriaRole.Button, new() { Name = "Перевести" }).ClickAsync();
        await Expect(dimaRow.Locator("td").Nth(1)).ToHaveTextAsync("5Б");
        var members = await Members(school, api);
        Assert.Equal(b5, members.EnumerateArray().Single(m => m.GetProperty("accountId").GetGuid() == dima.Id).GetProperty("classId").GetGuid());
        var mothersChats = await Scene.Read(await dimasMother.Http.GetAsync($"/api/chats?schoolId={school.Id}"));
        Assert.Contains(mothersChats.EnumerateArray(), c => ClassOf(c) == b5);
        Assert.DoesNotContain(mothersChats.EnumerateArray(), c => ClassOf(c) == a5);

        // A parent linked to Liza by mistake is taken back: out of her row and of the school; Liza stays.
        var lizaRow = pupils.Locator("tr", new() { HasText = "Лиза Морозова" });
        await Expect(dimaRow.Locator("td.parents")).ToContainTextAsync("Ольга Ковалёва");
        await lizaRow.GetByRole(AriaRole.Button, new() { Name = "Отвязать Посторонний Родитель от ученика Лиза Морозова" }).ClickAsync();
        var unlink = page.GetByRole(AriaRole.Dialog, new() { Name = "Отвязать родителя: Посторонний Родитель" });
        await unlink.GetByLabel("Причина (в журнал)").FillAsync("Ошибочная привязка");
        await unlink.GetByRole(AriaRole.Button, new() { Name = "Отвязать" }).ClickAsync();
        await Expect(lizaRow.Locator("td.parents")).ToHaveTextAsync("—");
        Assert.DoesNotContain((await Members(school, api)).EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == stranger.Id);

        // Liza leaves the school: cancelling keeps her, confirming removes her.
        await lizaRow.GetByRole(AriaRole.Button, new() { Name = "Выбыл из школы" }).ClickAsync();
        var leave = page.GetByRole(AriaRole.Dialog, new() { Name = "Ученик выбывает: Лиза Морозова" });
        await leave.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(lizaRow).ToBeVisibleAsync();
        await lizaRow.GetByRole(AriaRole.Button, new() { Name = "Выбыл из школы" }).ClickAsync();
        await leave.GetByLabel("Причина (в журнал)").FillAsync("Переезд в другой город");
        await leave.GetByRole(AriaRole.Button, new() { Name = "Исключить из школы" }).ClickAsync();
        await Expect(lizaRow).ToHaveCountAsync(0);
        Assert.DoesNotContain((await Members(school, api)).EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == liza.Id);

        // The school's rules: a new one, an edited one, a deleted one (asked first).
        var rules = page.Locator("#adm-rules-sec");
        await Expect(rules.Locator("li.rule-row").First).ToBeVisibleAsync();
        var before = (await Scene.Read(await school.Admin.Http.GetAsync($"{api}/rules"))).GetArrayLength();
        await rules.GetByLabel("Текст правила", new() { Exact = true }).FillAsync("Не пересылать ответы на контрольные работы.");
        await rules.GetByRole(AriaRole.Button, new() { Name = "Добавить правило" }).ClickAsync();
        await Expect(rules.Locator("li.rule-row")).ToHaveCountAsync(before + 1);
        await rules.GetByLabel("Текст правила 1", new() { Exact = true }).FillAsync("Уважайте друг друга: без оскорблений.");
        await rules.GetByRole(AriaRole.Button, new() { Name = "Сохранить правило 1" }).ClickAsync();
        await rules.GetByRole(AriaRole.Button, new() { Name = "Удалить правило 2" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog, new() { Name = "Удалить правило 2?" }).GetByRole(AriaRole.Button, new() { Name = "Удалить правило" }).ClickAsync();
        await Expect(rules.Locator("li.rule-row")).ToHaveCountAsync(before);
        await Expect(rules.GetByLabel("Текст правила 1", new() { Exact = true })).ToHaveValueAsync("Уважайте друг друга: без оскорблений.");
        var saved = (await Scene.Read(await school.Admin.Http.GetAsync($"{api}/rules"))).EnumerateArray().ToList();
        Assert.Contains(saved, r => r.GetProperty("text").GetString() == "Не пересылать ответы на контрольные работы.");
        Assert.Contains(saved, r => r.GetProperty("number").GetInt32() == 1 && r.GetProperty("text").GetString() == "Уважайте друг друга: без оскорблений.");
        Assert.DoesNotContain(saved, r => r.GetProperty("number").GetInt32() == 2);
        await ScreenshotBoth(page, "admin-rules");

        // The new school year: the dialog says what will happen, the result is shown, the classes moved up.
        var year = page.Locator("#adm-year-sec");
        await year.GetByRole(AriaRole.Button, new() { Name = "Перейти на новый учебный год" }).ClickAsync();
        var rollover = page.GetByRole(AriaRole.Dialog, new() { Name = "Перейти на новый учебный год?" });
        await Expect(rollover).ToContainTextAsync("5Б → 6Б");
        await Expect(rollover).ToContainTextAsync("11А → выпуск");
        await rollover.GetByRole(AriaRole.Button, new() { Name = "Перейти на новый год" }).ClickAsync();
        await Expect(year.GetByRole(AriaRole.Status)).ToContainTextAsync("переведено классов — 2, выпущено — 1, выбыло учеников — 1");
        await ScreenshotBoth(page, "admin-year");
        var classes = await Scene.Read(await school.Admin.Http.GetAsync($"{api}/classes"));
        var names = classes.EnumerateArray().Where(c => c.GetProperty("kind").GetString() == "class").Select(c => c.GetProperty("name").GetString()).Order().ToList();
        Assert.Equal(["6А", "6Б"], names);
        Assert.DoesNotContain((await Members(school, api)).EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == sasha.Id);
        await Expect(page.Locator("#adm-pupils-sec tr", new() { HasText = "Дима Ковалёв" }).Locator("td").Nth(1)).ToHaveTextAsync("6Б");
    }

    [Fact]
    public async Task Admin_CreatesChannelForParents_ParentWhoJoinsLater_GetsIt_APupilDoesNot()
    {
        var school = await Scene.SchoolAsync("Школа №36");
        var a7 = await school.ClassAsync("7А");
        var ira = await school.PupilAsync("Ира Соколова", a7);
        var irasMother = await school.ParentAsync("Мария Соколова", ira.Id);

        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        var channels = page.Locator("#adm-channels-sec");
        await channels.GetByLabel("Новый канал").FillAsync("Новости для родителей");
        await channels.GetByLabel("для", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "родители" });
        // A double click makes one channel.
        await channels.GetByRole(AriaRole.Button, new() { Name = "Создать канал" }).DblClickAsync();
        await Expect(channels.Locator("tr", new() { HasText = "Новости для родителей" })).ToHaveCountAsync(1);
        await Expect(channels.GetByRole(AriaRole.Button, new() { Name = "Создать канал" })).ToBeEnabledAsync();
        var schoolChats = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/chats"));
        Assert.Single(schoolChats.EnumerateArray(), c => c.GetProperty("title").GetString() == "Новости для родителей");
        Assert.True(await HasChat(irasMother, school, "Новости для родителей"));
        Assert.False(await HasChat(ira, school, "Новости для родителей"));

        // Next week a new pupil and her father join the school: the channel follows the roster, so he has it; she does not.
        var nastya = await school.PupilAsync("Настя Новикова", a7);
        var nastyasFather = await school.ParentAsync("Олег Новиков", nastya.Id);
        Assert.True(await HasChat(nastyasFather, school, "Новости для родителей"));
        Assert.False(await HasChat(nastya, school, "Новости для родителей"));
    }

    [Fact]
    public async Task ChannelWriters_AfterTheHubConnectionBreaks_AndTheTokenExpires_StillWork()
    {
        var school = await Scene.SchoolAsync("Школа №37");
        await school.TeacherAsync("Елена Викторовна");
        await school.TeacherAsync("Павел Андреевич");
        var channelId = await School.ChatIdAsync(school.Admin, school.Id, "Общешкольный канал");

        // The page's clock can be moved on (to expire its access token); its hub WebSockets pass through the test.
        var page = await PageAsync(Desktop);
        await page.Clock.InstallAsync();
        IWebSocketRoute? hubSocket = null;
        await page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            hubSocket = ws;
            ws.ConnectToServer();
        });
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        var channels = page.Locator("#adm-channels-sec");
        var row = channels.Locator("tr", new() { HasText = "Общешкольный канал" });
        var writers = row.Locator("td").Nth(2);
        async Task AllowAsync(string name)
        {
            await row.GetByLabel("Кто ещё может писать в канал Общешкольный канал").SelectOptionAsync(new SelectOptionValue { Label = name });
            await row.GetByRole(AriaRole.Button, new() { Name = "Разрешить писать" }).ClickAsync();
            await Expect(writers).ToContainTextAsync(name);
        }

        // The first use connects the page's hub.
        await AllowAsync("Елена Викторовна");
        var first = hubSocket;

        // A network blip: the connection breaks; the page reconnects by itself and «Разрешить писать» works again.
        await first!.CloseAsync();
        await AllowAsync("Павел Андреевич");
        Assert.NotSame(first, hubSocket);
        await Expect(channels.Locator("p.error")).ToBeEmptyAsync();

        // Twenty minutes later the access token has expired and the connection times out: reconnecting renews the token
        // first (js/api.js refresh), and «Запретить писать» works.
        var refreshed = page.WaitForRequestAsync(r => r.Url.EndsWith("/api/auth/refresh", StringComparison.Ordinal));
        await page.Clock.FastForwardAsync("20:00");
        await refreshed;
        var pavel = writers.Locator("div.row", new() { HasText = "Павел Андреевич" });
        await pavel.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" }).ClickAsync();
        await Expect(pavel).ToHaveCountAsync(0);
        await Expect(writers).ToContainTextAsync("Елена Викторовна");
        await Expect(channels.Locator("p.error")).ToBeEmptyAsync();
        var roles = (await Scene.Read(await school.Admin.Http.GetAsync($"/api/chats/{channelId}/members"))).EnumerateArray()
            .ToDictionary(m => m.GetProperty("displayName").GetString()!, m => m.GetProperty("role").GetString());
        Assert.Equal("moderator", roles["Елена Викторовна"]);
        Assert.Equal("member", roles["Павел Андреевич"]);
    }

    [Fact]
    public async Task Admin_RejectsJoinRequest_InTheDialogWithAReason_RevokesUnusedLinks_AskedFirst()
    {
        var school = await Scene.SchoolAsync("Школа №38");
        var a6 = await school.ClassAsync("6А");
        var b6 = await school.ClassAsync("6Б");
        await school.PendingTeacherAsync("Геннадий Заявкин");
        var unusedPupilLink = (await school.InviteAsync("student", a6)).GetProperty("id").GetGuid();
        var unusedTeacherLink = (await school.InviteAsync("teacher")).GetProperty("id").GetGuid();
        await school.PupilAsync("Петя Первый", b6); // by a 6Б link, used once
        var api = $"/api/schools/{school.Id}";

        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();

        // «Отклонить» asks for the reason in the page's dialog; a blank one is refused there; «Отмена» keeps the request.
        var requests = page.Locator("#adm-requests-sec");
        var request = requests.Locator("tr", new() { HasText = "Геннадий Заявкин" });
        await request.GetByRole(AriaRole.Button, new() { Name = "Отклонить" }).ClickAsync();
        var reject = page.GetByRole(AriaRole.Dialog, new() { Name = "Отклонить заявку: Геннадий Заявкин" });
        await Expect(reject).ToContainTextAsync("Геннадий Заявкин не вступит в школу по этой заявке и увидит причину отказа.");
        await reject.GetByRole(AriaRole.Button, new() { Name = "Отклонить заявку" }).ClickAsync();
        await Expect(reject.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Укажите причину отказа: человек увидит её.");
        await reject.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(reject).ToHaveCountAsync(0);
        await Expect(request).ToHaveCountAsync(1);
        await request.GetByRole(AriaRole.Button, new() { Name = "Отклонить" }).ClickAsync();
        await reject.GetByLabel("Причина отказа (обязательно)").FillAsync("Вакансия учителя уже занята.");
        await reject.GetByRole(AriaRole.Button, new() { Name = "Отклонить заявку" }).ClickAsync();
        await Expect(reject).ToHaveCountAsync(0);
        await Expect(request).ToHaveCountAsync(0);
        await Expect(requests).ToContainTextAsync("Новых заявок нет.");
        await Expect(requests.GetByRole(AriaRole.Heading, new() { Name = "Заявки на вступление" })).ToBeFocusedAsync();
        var rejected = await Scene.Read(await school.Admin.Http.GetAsync($"{api}/join-requests?status=rejected"));
        Assert.Equal("Вакансия учителя уже занята.", rejected.EnumerateArray().Single().GetProperty("reason").GetString());

        // «Отозвать неиспользованные» asks first; «Отмена» revokes nothing.
        var invites = page.Locator("#adm-invites-sec");
        var revokeUnused = invites.GetByRole(AriaRole.Button, new() { Name = "Отозвать неиспользованные" });
        await revokeUnused.ClickAsync();
        var sure = page.GetByRole(AriaRole.Dialog, new() { Name = "Отозвать неиспользованные ссылки?" });
        await Expect(sure).ToContainTextAsync("Ссылки, которыми уже пользовались, продолжат действовать");
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(sure).ToHaveCountAsync(0);
        Assert.Equal(["active", "active"], [await LinkState(school, unusedPupilLink), await LinkState(school, unusedTeacherLink)]);

        // Only 6А's: its unused link goes, the teacher link stays.
        await revokeUnused.ClickAsync();
        await sure.GetByLabel("Какие ссылки отозвать").SelectOptionAsync(new SelectOptionValue { Label = "только ссылки класса 6А" });
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отозвать" }).ClickAsync();
        await Expect(invites.GetByRole(AriaRole.Status)).ToHaveTextAsync("Отозвано ссылок: 1.");
        Assert.Equal(["revoked", "active"], [await LinkState(school, unusedPupilLink), await LinkState(school, unusedTeacherLink)]);

        // The whole school's: the teacher link goes too; the links used (by Петя, by Геннадий) stay active.
        await revokeUnused.ClickAsync();
        await Expect(sure.GetByLabel("Какие ссылки отозвать")).ToHaveValueAsync("");
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отозвать" }).ClickAsync();
        await Expect(invites.GetByRole(AriaRole.Status)).ToHaveTextAsync("Отозвано ссылок: 1.");
        await Expect(invites.GetByRole(AriaRole.Heading, new() { Name = "Ссылки-приглашения" })).ToBeFocusedAsync();
        await Expect(revokeUnused).ToHaveCountAsync(0);
        var links = (await Scene.Read(await school.Admin.Http.GetAsync($"{api}/invites"))).EnumerateArray().ToList();
        Assert.Equal("revoked", await LinkState(school, unusedTeacherLink));
        Assert.Equal(2, links.Count(l => l.GetProperty("state").GetString() == "active" && l.GetProperty("uses").GetInt32() == 1));
    }

    private static async Task<string> LinkState(School school, Guid id) =>
        (await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/invites"))).EnumerateArray()
            .Single(l => l.GetProperty("id").GetGuid() == id).GetProperty("state").GetString()!;

    private static async Task<bool> HasChat(ApiUser who, School school, string title) =>
        (await Scene.Read(await who.Http.GetAsync($"/api/chats?schoolId={school.Id}"))).EnumerateArray().Any(c => c.GetProperty("title").GetString() == title);

    private static async Task<JsonElement> Members(School school, string api) => await Scene.Read(await school.Admin.Http.GetAsync($"{api}/members"));

    private static Guid? ClassOf(JsonElement chat) =>
        chat.TryGetProperty("classId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetGuid() : null;

    private static List<string> Roles(JsonElement members, Guid id) =>
        members.EnumerateArray().Single(m => m.GetProperty("accountId").GetGuid() == id).GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToList();
}
