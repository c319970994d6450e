using Chat.Hub.Features.Moderation;

namespace Chat.Hub.Tests.Moderation;

/// <summary>
/// An audit event's details in Russian, as the admin page's journal writes them (<c>auditDetails</c> in admin.js):
/// each kind of detail it names, from the stored JSON and the school's class, chat and member names.
/// </summary>
public sealed class AuditDetailsTests
{
    private static readonly Guid Class5A = Guid.NewGuid(), Class6A = Guid.NewGuid(), ClassChat = Guid.NewGuid(), Petya = Guid.NewGuid();

    // Dates in Yekaterinburg (UTC+5): an end at 20:00 UTC is the next day there.
    private readonly AuditDetails details = new(
        new Dictionary<Guid, string> { [Class5A] = "5А", [Class6A] = "6А" },
        new Dictionary<Guid, string> { [ClassChat] = "5А класс" },
        new Dictionary<Guid, string> { [Petya] = "Петя Иванов" },
        TimeZoneInfo.FindSystemTimeZoneById("Asia/Yekaterinburg"));

    public static TheoryData<string, string, string, string> Cases => new()
    {
        // action, subject ("petya", "5a", "chat" or ""), stored JSON ({chat}, {5a}, {6a} and {petya} stand for the ids), the text
        { "chat.member_role", "petya", """{"chatId":"{chat}","role":"moderator"}""", "«5А класс» · теперь модератор (в канале может писать) · Петя Иванов" },
        { "chat.member_role", "petya", """{"chatId":"{chat}","role":"member"}""", "«5А класс» · теперь рядовой участник (в канале только читает) · Петя Иванов" },
        { "chat.member_role", "petya", """{"chatId":"{chat}","role":"boss"}""", "«5А класс» · роль изменена · Петя Иванов" },
        { "chat.member_role", "", """{"chatId":"00000000-0000-0000-0000-000000000001","role":"owner"}""", "теперь владелец" },
        { "student.moved", "petya", """{"from":"{5a}","to":"{6a}"}""", "5А → 6А · Петя Иванов" },
        { "student.moved", "petya", """{"from":"00000000-0000-0000-0000-000000000001","to":"{6a}"}""", "? → 6А · Петя Иванов" },
        { "student.moved", "petya", """{"from":null,"to":"{6a}"}""", "Петя Иванов" },
        { "chat.created", "chat", """{"kind":"channel","title":"Новости для родителей","members":3,"audience":["parent","staff"],"classes":[]}""", "Новости для родителей · для: родители, сотрудники" },
        { "chat.created", "chat", """{"kind":"group","title":"Кружок","members":3,"audience":null,"classes":null}""", "Кружок" },
        { "chat.created", "chat", """{"kind":"channel","title":"Всем","audience":["student","aliens"]}""", "Всем · для: ученики, aliens" },
        { "invite.created", "", """{"role":"parent","classId":"{5a}","childId":null,"expiresAt":null,"MaxUses":null}""", "родитель" },
        { "invite.created", "", """{"role":"class_teacher"}""", "классный руководитель" },
        { "invite.created", "", """{"role":"pilot"}""", "pilot" },
        { "chat.updated", "chat", """{"title":null,"slowModeSeconds":30,"rulesChanged":true}""", "медленный режим: 30 с · правила чата изменены" },
        { "chat.updated", "chat", """{"title":"Новое название","slowModeSeconds":0,"rulesChanged":false}""", "Новое название" },
        { "chat.updated", "chat", """{"title":null,"slowModeSeconds":null,"rulesChanged":false}""", "" },
        { "moderation.report_resolved", "", """{"chatId":"{chat}","resolution":"warned"}""", "«5А класс» · автор предупреждён" },
        { "moderation.report_resolved", "", """{"chatId":"{chat}","resolution":"deleted"}""", "«5А класс» · сообщение удалено" },
        { "moderation.report_resolved", "", """{"chatId":"{chat}","resolution":"dismissed"}""", "«5А класс» · жалоба отклонена" },
        { "moderation.report_resolved", "", """{"chatId":"{chat}","resolution":"forgotten"}""", "«5А класс»" },
        { "account.deleted", "petya", """{"messages":"keep"}""", "сообщения остались с подписью «Удалённый пользователь» · Петя Иванов" },
        { "account.deleted", "", """{"messages":"remove"}""", "сообщения удалены" },
        { "account.deleted", "", """{"messages":"burn"}""", "" },
        { "invite.revoked_unused", "5a", """{"count":3}""", "5А: отозвано ссылок: 3" },
        { "invite.revoked_unused", "", """{"count":0}""", "отозвано ссылок: 0" },
        { "invite.revoked_unused", "", "{}", "отозвано ссылок: 0" },
        { "rule.saved", "", """{"number":20,"text":"Не публикуйте фотографии одноклассников без их согласия."}""", "20. Не публикуйте фотографии одноклассников без их согласия." },
        { "moderation.muted", "petya", """{"chatId":"{chat}","rule":2,"ruleText":"Уважайте друг друга","reason":"Спам","Minutes":60}""", "«5А класс» · правило 2 · причина: Спам · Петя Иванов" },
        { "moderation.blocked", "petya", """{"chatId":"{chat}","rule":2,"ruleText":"Уважайте друг друга","reason":"оскорбления","until":"2025-03-09T20:00:00Z","violations":4}""", "«5А класс» · правило 2 · причина: оскорбления · до 10.03.2025 · Петя Иванов" },
        { "moderation.case_opened", "chat", """{"reason":"жалоба родителей","title":"5А класс","closesAt":"2025-11-27T11:04:00Z"}""", "5А класс · причина: жалоба родителей · до 27 ноября в 16:04" },
        { "join_request.rejected", "", """{"AccountId":"{petya}","reason":"Такого учителя нет в школе"}""", "причина: Такого учителя нет в школе" },
        { "join_request.approved", "", """{"AccountId":"{petya}","reason":null}""", "" },
        { "student.left", "petya", """{"reason":""}""", "Петя Иванов" },
        { "school.updated", "", """{"name":"Школа №5","region":"Москва","address":"ул. Школьная, 1","journal":null}""", "Школа №5" },
        { "class_teacher.attached", "petya", """{"classId":"{5a}"}""", "Петя Иванов" },
        { "teacher.verified", "petya", "{}", "Петя Иванов" },
        { "something.new", "petya", "not json", "Петя Иванов" },
        { "something.new", "", "[1, 2]", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void WritesTheDetailsAsTheAdminPageDoes(string action, string subject, string json, string expected)
    {
        Guid? subjectId = subject switch { "petya" => Petya, "5a" => Class5A, "chat" => ClassChat, _ => null };
        var stored = json.Replace("{chat}", ClassChat.ToString(), StringComparison.Ordinal).Replace("{5a}", Class5A.ToString(), StringComparison.Ordinal)
            .Replace("{6a}", Class6A.ToString(), StringComparison.Ordinal).Replace("{petya}", Petya.ToString(), StringComparison.Ordinal);
        Assert.Equal(expected, details.Describe(action, subjectId, stored));
    }
}
