using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Files;
using Chat.Hub.Infrastructure;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Files;

/// <summary>Files in chats: posting, downloading with every check, ranges, retries, deduplication, deletion, materials.</summary>
public sealed class FileExchangeTests(FilesApp app) : IClassFixture<FilesApp>
{
    private static async Task<FileDto> UploadAsync(TestUser who, TestSchool school, string name, byte[] bytes, Guid? uploadId = null) =>
        await (await FileCalls.UploadAsync(who, school.Id, name, bytes, uploadId)).ReadAsync<FileDto>();

    /// <summary>
    /// The class teacher forwards the timetable she posted in the pupils' chat to the parents' chat: the same files with
    /// their caption, marked as forwarded; the parents may download them from then on (not before), a pupil of another
    /// class still may not; nothing is stored twice. A poll is not forwarded.
    /// </summary>
    [Fact]
    public async Task TeacherForwardsFilesToTheParents_TheyMayDownloadThem_OthersStillNot()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var pdf = await UploadAsync(room.Teacher, room.School, "Расписание.pdf", SampleFiles.Pdf());
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var posted = await teacherHub.Connection.InvokeAsync<MessageDto>("SendFiles", new SendFilesRequest(room.ChatId, Guid.NewGuid(), [pdf.Id], "Расписание на вторую четверть"));
        await (await room.Mother.Http.GetAsync($"/api/files/{pdf.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");

        var parents = (await room.Teacher.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={room.School.Id}", ChatJson.Options))!
            .Single(c => c.Kind == "parents" && c.ClassId == room.Class.Id);
        var forwarded = await teacherHub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(room.ChatId, posted.Seq, parents.Id, Guid.NewGuid()));
        Assert.Equal(("files", "Расписание на вторую четверть", pdf.Id), (forwarded.Kind, forwarded.Text, Assert.Single(forwarded.Files!).Id));
        Assert.NotNull(forwarded.ForwardedFrom);

        using var download = await room.Mother.Http.GetAsync($"/api/files/{pdf.Id}");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(SampleFiles.Pdf(), await download.Content.ReadAsByteArrayAsync());
        await (await room.Kolya.Http.GetAsync($"/api/files/{pdf.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");

        var poll = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll",
            new Chat.Hub.Features.Polls.CreatePollRequest(room.ChatId, Guid.NewGuid(), "Когда экскурсия?", ["В субботу", "В воскресенье"]));
        await teacherHub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(room.ChatId, poll.Seq, parents.Id, Guid.NewGuid()))
            .ExpectHubErrorAsync("message_not_found");
    }

    /// <summary>
    /// A pupil looks for the timetable: it came as «Расписание_звонков.pdf» without a caption. Search finds a message by
    /// its files' names (any word form; dots, underscores and hyphens split words), with the matched words for the
    /// highlight — and still only in the searcher's chats.
    /// </summary>
    [Fact]
    public async Task Search_FindsAMessageByItsFilesNames_OnlyInTheSearchersChats()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var timetable = await UploadAsync(room.Teacher, room.School, "Расписание_звонков.pdf", SampleFiles.Pdf());
        var report = await UploadAsync(room.Teacher, room.School, "report-2026.pdf", SampleFiles.Pdf());
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var bare = await teacherHub.Connection.InvokeAsync<MessageDto>("SendFiles", new SendFilesRequest(room.ChatId, Guid.NewGuid(), [timetable.Id], null));
        var captioned = await teacherHub.Connection.InvokeAsync<MessageDto>("SendFiles", new SendFilesRequest(room.ChatId, Guid.NewGuid(), [report.Id], "Итоги четверти"));
        await teacherHub.SendAsync(room.ChatId, "Звонки теперь на пять минут раньше");

        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        var found = await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("расписания", room.School.Id));
        var hit = Assert.Single(found.Hits);
        Assert.Equal(bare.Seq, hit.Message.Seq);
        Assert.Equal(["расписание"], hit.Words);

        // «звонки»: in the file's name and in a text: both, newest first, each once.
        var both = await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("звонки", ChatId: room.ChatId));
        Assert.Equal(2, both.Hits.Count);
        Assert.Equal(bare.Seq, both.Hits[1].Message.Seq);

        // A Latin name split at its hyphen; the caption's words and the name's together.
        var byName = Assert.Single((await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("report", room.School.Id))).Hits);
        Assert.Equal(captioned.Seq, byName.Message.Seq);
        Assert.Equal(["report"], byName.Words);

        // Caption and names are one text: both words, one in each; a word excluded from the name excludes the message.
        var schedule = await UploadAsync(room.Teacher, room.School, "звонки.pdf", SampleFiles.Pdf());
        var week = await teacherHub.Connection.InvokeAsync<MessageDto>("SendFiles", new SendFilesRequest(room.ChatId, Guid.NewGuid(), [schedule.Id], "Расписание на неделю"));
        var together = Assert.Single((await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("неделя звонки", room.School.Id))).Hits);
        Assert.Equal(week.Seq, together.Message.Seq);
        Assert.Equal(["звонки", "неделю"], together.Words.Order(StringComparer.Ordinal));
        Assert.DoesNotContain((await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("неделя -pdf", room.School.Id))).Hits,
            h => h.Message.Seq == week.Seq);

        // An edited caption is searched as it is now, with the names still.
        await teacherHub.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, week.Seq, "График на четверть");
        Assert.Empty((await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("неделя", room.School.Id))).Hits);
        Assert.Equal(week.Seq, Assert.Single((await petyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("график звонков", room.School.Id))).Hits).Message.Seq);

        // Коля of 5Б is not in 5А's chat: nothing of it.
        await using var kolyaHub = await HubClient.ConnectAsync(app, room.Kolya);
        Assert.Empty((await kolyaHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("расписание", room.School.Id))).Hits);
    }

    [Fact]
    public async Task TeacherPostsPdfAndPhoto_PupilsOf5ADownloadThem_PupilOf5BGetsNotFound()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var pdfBytes = SampleFiles.Pdf();
        var photoBytes = SampleFiles.Jpeg(640, 480);
        var pdf = await UploadAsync(room.Teacher, room.School, "Контрольная работа №3.pdf", pdfBytes);
        var photo = await UploadAsync(room.Teacher, room.School, "доска.jpg", photoBytes);
        Assert.Equal(("document", "application/pdf", (long)pdfBytes.Length), (pdf.Kind, pdf.ContentType, pdf.Size));
        Assert.Equal(("image", "image/jpeg", 640, 480, true), (photo.Kind, photo.ContentType, photo.Width!.Value, photo.Height!.Value, photo.HasThumbnail));

        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var mashaHub = await HubClient.ConnectAsync(app, room.Masha);
        var sent = await teacherHub.Connection.InvokeAsync<MessageDto>("SendFiles",
            new SendFilesRequest(room.ChatId, Guid.NewGuid(), [pdf.Id, photo.Id], "Задание на завтра и фото доски"));
        Assert.Equal("files", sent.Kind);
        Assert.Equal("Задание на завтра и фото доски", sent.Text);
        Assert.Equal([pdf.Id, photo.Id], sent.Files!.Select(f => f.Id));

        // Every member gets the message with its files.
        await HubClient.EventuallyAsync(() => mashaHub.ReceivedIn(room.ChatId).Any(m => m.Kind == "files"), "the files message");
        Assert.Equal(["Контрольная работа №3.pdf", "доска.jpg"], mashaHub.ReceivedIn(room.ChatId).Single().Files!.Select(f => f.Name));

        // Pupils of 5А download both, as attachments with the name intact.
        foreach (var pupil in new[] { room.Petya, room.Masha })
        {
            using var got = await pupil.Http.GetAsync($"/api/files/{pdf.Id}");
            await got.EnsureOkAsync();
            Assert.Equal(pdfBytes, await got.Content.ReadAsByteArrayAsync());
            Assert.Equal("application/pdf", got.Content.Headers.ContentType?.MediaType);
            Assert.Equal("attachment", got.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("Контрольная работа №3.pdf", got.Content.Headers.ContentDisposition?.FileNameStar);
            Assert.Equal("nosniff", Assert.Single(got.Headers.GetValues("X-Content-Type-Options")));

            using var image = await pupil.Http.GetAsync($"/api/files/{photo.Id}");
            Assert.Equal(photoBytes, await image.Content.ReadAsByteArrayAsync());
            Assert.Equal("image/jpeg", image.Content.Headers.ContentType?.MediaType);
            Assert.Equal("attachment", image.Content.Headers.ContentDisposition?.DispositionType);
        }

        // The photo's preview is a small JPEG.
        using var thumbnail = await room.Petya.Http.GetAsync($"/api/files/{photo.Id}/thumbnail");
        await thumbnail.EnsureOkAsync();
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
        using (var preview = SkiaSharp.SKBitmap.Decode(await thumbnail.Content.ReadAsByteArrayAsync()))
        {
            Assert.Equal((320, 240), (preview.Width, preview.Height));
        }

        // A pupil of 5Б, a parent and another school's admin get "not found" for the file, its preview and the chat's materials.
        var otherSchool = await new SchoolBuilder(app).CreateAsync("Школа №2");
        foreach (var outsider in new[] { room.Kolya, room.Mother, otherSchool.Admin })
        {
            foreach (var url in new[] { $"/api/files/{pdf.Id}", $"/api/files/{photo.Id}", $"/api/files/{photo.Id}/thumbnail" })
            {
                await (await outsider.Http.GetAsync(url)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
            }

            await (await outsider.Http.GetAsync($"/api/chats/{room.ChatId}/files")).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        }

        // Guessing ids or paths finds nothing either.
        await (await room.Petya.Http.GetAsync($"/api/files/{Guid.NewGuid()}")).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        Assert.Equal(HttpStatusCode.NotFound, (await room.Petya.Http.GetAsync("/api/files/..%2F..%2Fetc%2Fpasswd")).StatusCode);

        // Nobody posts someone else's upload: Petya cannot attach the teacher's PDF to his message.
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        var borrowed = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<MessageDto>("SendFiles",
            new SendFilesRequest(room.ChatId, Guid.NewGuid(), [pdf.Id], null)));
        Assert.Contains("file_not_found:", borrowed.Message);

        // And nobody posts into a chat they are not in.
        var kolyaFile = await UploadAsync(room.Kolya, room.School, "рисунок.png", SampleFiles.Png(20, 20));
        await (await room.Kolya.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { kolyaFile.Id } }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
    }

    [Fact]
    public async Task Download_RangeRequests_Return206WithTheRightBytes()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var bytes = SampleFiles.Pdf(200_000);
        var pdf = await UploadAsync(room.Teacher, room.School, "Учебник.pdf", bytes);
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { pdf.Id } }))
            .EnsureOkAsync();

        using var middle = new HttpRequestMessage(HttpMethod.Get, $"/api/files/{pdf.Id}");
        middle.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var part = await room.Petya.Http.SendAsync(middle);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(bytes[1000..2000], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 1000-1999/{bytes.Length}", part.Content.Headers.ContentRange?.ToString());
        Assert.Contains("bytes", part.Headers.AcceptRanges);

        using var tail = new HttpRequestMessage(HttpMethod.Get, $"/api/files/{pdf.Id}");
        tail.Headers.Range = new RangeHeaderValue(null, 500);
        using var end = await room.Petya.Http.SendAsync(tail);
        Assert.Equal(HttpStatusCode.PartialContent, end.StatusCode);
        Assert.Equal(bytes[^500..], await end.Content.ReadAsByteArrayAsync());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, $"/api/files/{pdf.Id}");
        beyond.Headers.Range = new RangeHeaderValue(bytes.Length + 10, bytes.Length + 20);
        using var unsatisfiable = await room.Petya.Http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);

        // The range of an outsider is still "not found".
        using var outsider = new HttpRequestMessage(HttpMethod.Get, $"/api/files/{pdf.Id}");
        outsider.Headers.Range = new RangeHeaderValue(0, 10);
        await (await room.Kolya.Http.SendAsync(outsider)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
    }

    /// <summary>
    /// A video is watched through a short-lived link the browser's own player streams with range requests (no token in a
    /// header): only a reader of the file gets one; the link works without the token, in ranges; a changed or borrowed
    /// link is refused; signing out ends it, and so does leaving the chat (it authorizes again on every request).
    /// </summary>
    [Fact]
    public async Task StreamLink_ForReadersOnly_WorksWithoutTheToken_InRanges_EndsWithTheSessionOrTheChat()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var bytes = SampleFiles.Mp4(3);
        var video = await UploadAsync(room.Teacher, room.School, "Опыт по физике.mp4", bytes);
        var other = await UploadAsync(room.Teacher, room.School, "Другое.pdf", SampleFiles.Pdf());
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { video.Id, other.Id } }))
            .EnsureOkAsync();
        await (await room.Kolya.Http.PostAsync($"/api/files/{video.Id}/link", null)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        using var anonymous = app.CreateClient();
        await (await anonymous.PostAsync($"/api/files/{video.Id}/link", null)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");

        var link = await (await room.Petya.Http.PostAsync($"/api/files/{video.Id}/link", null)).ReadAsync<FileLinkDto>();
        Assert.StartsWith($"/api/files/{video.Id}/stream?", link.Url, StringComparison.Ordinal);
        Assert.InRange(link.ExpiresAt, DateTimeOffset.UtcNow.AddHours(3), DateTimeOffset.UtcNow.AddHours(5));
        using (var ranged = new HttpRequestMessage(HttpMethod.Get, link.Url))
        {
            ranged.Headers.Range = new RangeHeaderValue(100, 199);
            using var part = await anonymous.SendAsync(ranged);
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(bytes[100..200], await part.Content.ReadAsByteArrayAsync());
            Assert.Equal("video/mp4", part.Content.Headers.ContentType?.MediaType);
            Assert.True(part.Headers.CacheControl?.NoStore, "kept in the browser's disk cache after signing out");
        }

        Assert.Equal(bytes, await anonymous.GetByteArrayAsync(link.Url));

        // Changed, or used for another file: refused.
        var tampered = link.Url[..^1] + (link.Url[^1] == 'A' ? 'B' : 'A');
        await (await anonymous.GetAsync(tampered)).ExpectErrorAsync(HttpStatusCode.Forbidden, "file_link_expired");
        await (await anonymous.GetAsync(link.Url.Replace(video.Id.ToString(), other.Id.ToString(), StringComparison.Ordinal)))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "file_link_expired");

        // Masha leaves 5А for 5Б: her link of 5А's video stops working.
        var mashas = await (await room.Masha.Http.PostAsync($"/api/files/{video.Id}/link", null)).ReadAsync<FileLinkDto>();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(mashas.Url)).StatusCode);
        var class5B = (await room.School.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.ClassDto>>($"{room.School.Api}/classes", ChatJson.Options))!.Single(c => c.Name == "5Б");
        await (await room.School.Admin.Http.PutAsJsonAsync($"{room.School.Api}/students/{room.Masha.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        await (await anonymous.GetAsync(mashas.Url)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");

        // Petya signs out: his link ends with his session.
        await (await room.Petya.Http.PostAsync("/api/auth/sign-out", null)).EnsureOkAsync();
        await (await anonymous.GetAsync(link.Url)).ExpectErrorAsync(HttpStatusCode.Forbidden, "file_link_expired");
    }

    [Fact]
    public async Task Upload_RetriedWithSameUploadId_ReturnsTheSameFile_IdenticalContentStoredOnce()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var bytes = SampleFiles.Pdf(50_000);
        var uploadId = Guid.NewGuid();
        var objectsBefore = app.StoredObjects().Count;

        using var first = await FileCalls.UploadAsync(room.Teacher, room.School.Id, "Расписание.pdf", bytes, uploadId);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var stored = await first.ReadAsync<FileDto>();
        using var retry = await FileCalls.UploadAsync(room.Teacher, room.School.Id, "Расписание.pdf", bytes, uploadId);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(stored, await retry.ReadAsync<FileDto>());

        // Parallel retries of one upload also end as that one file.
        var retryId = Guid.NewGuid();
        var parallel = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
            await (await FileCalls.UploadAsync(room.Petya, room.School.Id, "Конспект.pdf", bytes, retryId)).ReadAsync<FileDto>()));
        Assert.Single(parallel.Select(f => f.Id).Distinct());

        // Another upload of the same bytes is another file, but the bytes are stored once, and counted once.
        var copy = await UploadAsync(room.Masha, room.School, "Копия расписания.pdf", bytes);
        Assert.NotEqual(stored.Id, copy.Id);
        Assert.Equal(objectsBefore + 1, app.StoredObjects().Count);
        var storage = await (await room.School.Admin.Http.GetAsync($"{room.School.Api}/storage")).ReadAsync<StorageDto>();
        Assert.Equal(bytes.Length, storage.UsedBytes);
        Assert.Equal(3, storage.ByKind.Single(k => k.Kind == "document").Files);
        Assert.Equal(3 * 1024 * 1024, storage.QuotaBytes);
        Assert.Equal(512 * 1024, storage.MaxFileBytes["image"]);

        // The usage is for admins only.
        await (await room.Teacher.Http.GetAsync($"{room.School.Api}/storage")).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        await (await other.Admin.Http.GetAsync($"{room.School.Api}/storage")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await FileCalls.UploadAsync(other.Admin, room.School.Id, "чужое.pdf", bytes)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
    }

    [Fact]
    public async Task DeleteMessage_RemovesAccessToItsFiles_UploaderKeepsAccessOnlyUntilAttached()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var pdf = await UploadAsync(room.Teacher, room.School, "Олимпиада.pdf", SampleFiles.Pdf());

        // Before it is posted, only its uploader can fetch it.
        await (await room.Teacher.Http.GetAsync($"/api/files/{pdf.Id}")).EnsureOkAsync();
        await (await room.Petya.Http.GetAsync($"/api/files/{pdf.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");

        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var sent = await teacherHub.Connection.InvokeAsync<MessageDto>("SendFiles", new SendFilesRequest(room.ChatId, Guid.NewGuid(), [pdf.Id], "Задания олимпиады"));
        await (await room.Petya.Http.GetAsync($"/api/files/{pdf.Id}")).EnsureOkAsync();
        Assert.Single(await (await room.Petya.Http.GetAsync($"/api/chats/{room.ChatId}/files")).ReadAsync<List<ChatFileDto>>());

        var deleted = await teacherHub.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, sent.Seq);
        Assert.True(deleted.Deleted);
        Assert.Null(deleted.Files);

        foreach (var who in new[] { room.Petya, room.Masha, room.Teacher })
        {
            await (await who.Http.GetAsync($"/api/files/{pdf.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        }

        Assert.Empty(await (await room.Petya.Http.GetAsync($"/api/chats/{room.ChatId}/files")).ReadAsync<List<ChatFileDto>>());
        var history = await teacherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null);
        Assert.Null(history.Single().Files);
    }

    [Fact]
    public async Task ChatMaterials_ByKind_NewestFirst()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var first = await UploadAsync(room.Teacher, room.School, "План урока.docx", SampleFiles.Docx());
        var photo = await UploadAsync(room.Teacher, room.School, "опыт.png", SampleFiles.Png(100, 50));
        var video = await UploadAsync(room.Teacher, room.School, "Запись урока.mp4", SampleFiles.Mp4(90));
        var second = await UploadAsync(room.Teacher, room.School, "Задачи.pdf", SampleFiles.Pdf());
        Assert.Equal(("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), (first.Kind, first.ContentType));
        Assert.Equal(("video", "video/mp4", 90_000L), (video.Kind, video.ContentType, video.DurationMs!.Value));
        Assert.Equal((100, 50), (photo.Width!.Value, photo.Height!.Value));

        async Task<MessageDto> PostAsync(params Guid[] ids) =>
            await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = ids })).ReadAsync<MessageDto>();
        var m1 = await PostAsync(first.Id, photo.Id);
        var m2 = await PostAsync(video.Id);
        var m3 = await PostAsync(second.Id);

        var documents = await (await room.Petya.Http.GetAsync($"/api/chats/{room.ChatId}/files?kind=document")).ReadAsync<List<ChatFileDto>>();
        Assert.Equal([(m3.Seq, second.Id), (m1.Seq, first.Id)], documents.Select(d => (d.Seq, d.File.Id)));
        Assert.All(documents, d => Assert.Equal("Мария Ивановна", d.SenderName));

        var all = await (await room.Petya.Http.GetAsync($"/api/chats/{room.ChatId}/files")).ReadAsync<List<ChatFileDto>>();
        Assert.Equal([second.Id, video.Id, first.Id, photo.Id], all.Select(d => d.File.Id));

        // Paged by message: the second page starts below the last message of the first.
        var page1 = await (await room.Petya.Http.GetAsync($"/api/chats/{room.ChatId}/files?limit=2")).ReadAsync<List<ChatFileDto>>();
        Assert.Equal([m3.Seq, m2.Seq], page1.Select(d => d.Seq));
        var page2 = await (await room.Petya.Http.GetAsync($"/api/chats/{room.ChatId}/files?limit=2&before={m2.Seq}")).ReadAsync<List<ChatFileDto>>();
        Assert.Equal([first.Id, photo.Id], page2.Select(d => d.File.Id));

        // The hub gives the same view.
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        var images = await petyaHub.Connection.InvokeAsync<List<ChatFileDto>>("GetChatFiles", room.ChatId, "image", null, null);
        Assert.Equal(photo.Id, Assert.Single(images).File.Id);
        var bad = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<List<ChatFileDto>>("GetChatFiles", room.ChatId, "exe", null, null));
        Assert.Contains("validation_failed:", bad.Message);
    }

    [Fact]
    public async Task StorageDown_Upload503StorageUnavailable_NothingVisible_WorksWhenItReturns()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var before = await UploadAsync(room.Teacher, room.School, "план.pdf", SampleFiles.Pdf(20_000));
        var usage = (await (await room.School.Admin.Http.GetAsync($"{room.School.Api}/storage")).ReadAsync<StorageDto>()).UsedBytes;

        // The store's folder is gone and something else stands in its place: the disk is not mounted, say.
        var away = app.FilesRoot + ".away";
        Directory.Move(app.FilesRoot, away);
        await File.WriteAllTextAsync(app.FilesRoot, "не каталог");
        var uploadId = Guid.NewGuid();
        try
        {
            await (await FileCalls.UploadAsync(room.Teacher, room.School.Id, "конспект.pdf", SampleFiles.Pdf(30_000), uploadId))
                .ExpectErrorAsync(HttpStatusCode.ServiceUnavailable, "storage_unavailable");
            var during = await (await room.School.Admin.Http.GetAsync($"{room.School.Api}/storage")).ReadAsync<StorageDto>();
            Assert.Equal(usage, during.UsedBytes);
            Assert.Equal(1, during.ByKind.Single(k => k.Kind == "document").Files);
        }
        finally
        {
            File.Delete(app.FilesRoot);
            Directory.Move(away, app.FilesRoot);
        }

        // Back: the same upload, retried, is stored once; the earlier file is still there.
        var retried = await UploadAsync(room.Teacher, room.School, "конспект.pdf", SampleFiles.Pdf(30_000), uploadId);
        Assert.NotEqual(before.Id, retried.Id);
        await (await room.Teacher.Http.GetAsync($"/api/files/{before.Id}")).EnsureOkAsync();
        Assert.Equal(2, (await (await room.School.Admin.Http.GetAsync($"{room.School.Api}/storage")).ReadAsync<StorageDto>()).ByKind.Single(k => k.Kind == "document").Files);
    }
}
