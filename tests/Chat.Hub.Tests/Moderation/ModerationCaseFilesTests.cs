using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Files;
using Chat.Hub.Tests.Files;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;

namespace Chat.Hub.Tests.Moderation;

/// <summary>
/// An admin reviewing a chat through a moderation case reads its files as she reads its messages: «Материалы» lists
/// them, and their bytes, previews and stream links open for her while the case is open (a real file store: FilesApp).
/// </summary>
public sealed class ModerationCaseFilesTests(FilesApp app) : IClassFixture<FilesApp>
{
    [Fact]
    public async Task AdminWithCase_OpensThePhotosOfTheChat_UntilTheCaseCloses()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        var bytes = SampleFiles.Jpeg(640, 480);
        var photo = await (await FileCalls.UploadAsync(room.Petya, school.Id, "перемена.jpg", bytes)).ReadAsync<FileDto>();
        await (await room.Petya.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { photo.Id } }))
            .EnsureOkAsync();
        var admin = school.Admin;
        string[] reads = [$"/api/files/{photo.Id}", $"/api/files/{photo.Id}/thumbnail"];

        // Not a member and no case: nothing of the chat.
        foreach (var url in reads)
        {
            await (await admin.Http.GetAsync(url)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        }

        await (await admin.Http.PostAsync($"/api/files/{photo.Id}/link", null)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");

        // With a case she moderates the chat: «Материалы» lists the photo, and it opens (before: «Файл недоступен»).
        await (await admin.Http.PostAsJsonAsync($"{school.Api}/chats/{room.ChatId}/moderation-cases", new { reason = "Жалоба родителя" })).EnsureOkAsync();
        var materials = await (await admin.Http.GetAsync($"/api/chats/{room.ChatId}/files")).ReadAsync<List<ChatFileDto>>();
        Assert.Equal(photo.Id, Assert.Single(materials).File.Id);
        using (var original = await admin.Http.GetAsync(reads[0]))
        {
            await original.EnsureOkAsync();
            Assert.Equal(bytes, await original.Content.ReadAsByteArrayAsync());
        }

        using (var preview = await admin.Http.GetAsync(reads[1]))
        {
            await preview.EnsureOkAsync();
            Assert.Equal("image/jpeg", preview.Content.Headers.ContentType?.MediaType);
        }

        var link = await (await admin.Http.PostAsync($"/api/files/{photo.Id}/link", null)).ReadAsync<FileLinkDto>();
        using var anonymous = app.CreateClient();
        Assert.Equal(bytes, await anonymous.GetByteArrayAsync(link.Url));

        // The case closes: the files are closed to her again, her link too.
        await app.ExecuteSqlAsync("UPDATE moderation_cases SET closes_at = now() - interval '1 second' WHERE chat_id = @chatId", new { chatId = room.ChatId });
        foreach (var url in reads)
        {
            await (await admin.Http.GetAsync(url)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        }

        await (await admin.Http.PostAsync($"/api/files/{photo.Id}/link", null)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        await (await anonymous.GetAsync(link.Url)).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");
        await (await room.Petya.Http.GetAsync(reads[0])).EnsureOkAsync(); // the members read it as before
    }
}
