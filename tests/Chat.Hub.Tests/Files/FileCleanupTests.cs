using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Files;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Hub.Tests.Files;

/// <summary>The cleanup job, run by the test with a zero grace period: what nobody can reach goes, bytes still shown stay.</summary>
public sealed class FileCleanupTests(FilesCleanupApp app) : IClassFixture<FilesCleanupApp>
{
    [Fact]
    public async Task Cleanup_UnreferencedUploads_RemovedWithTheirBytes_SharedAndShownContentKept()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var chatId = await FileCalls.ClassChatAsync(teacher, school.Id, class5A.Id);
        var shared = SampleFiles.Pdf(30_000);
        var deletedOnly = SampleFiles.Pdf(40_000);

        async Task<FileDto> UploadAsync(string name, byte[] bytes) => await (await FileCalls.UploadAsync(teacher, school.Id, name, bytes)).ReadAsync<FileDto>();
        async Task<MessageDto> PostAsync(Guid fileId) =>
            await (await teacher.Http.PostAsJsonAsync($"/api/chats/{chatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { fileId } })).ReadAsync<MessageDto>();
        async Task DeleteAsync(long seq)
        {
            await using var hub = await HubClient.ConnectAsync(app, teacher);
            await hub.Connection.InvokeAsync<MessageDto>("DeleteMessage", chatId, seq);
        }

        var neverPosted = await UploadAsync("Черновик.pdf", shared);
        var posted = await UploadAsync("Задание.pdf", shared);
        await PostAsync(posted.Id);
        var withdrawn = await UploadAsync("Ошибка.pdf", deletedOnly);
        await DeleteAsync((await PostAsync(withdrawn.Id)).Seq);
        var photo = await UploadAsync("Фото.jpg", SampleFiles.Jpeg(400, 300));
        Assert.True(photo.HasThumbnail);
        await DeleteAsync((await PostAsync(photo.Id)).Seq);
        var keys = app.StoredObjects().ToHashSet();
        Assert.Contains(Key(shared), keys);
        Assert.Contains(Key(deletedOnly), keys);

        var result = await app.Services.GetRequiredService<FileCleanup>().RunOnceAsync(CancellationToken.None);
        Assert.Equal(3, result.Files);       // the never posted draft, the withdrawn PDF, the withdrawn photo
        Assert.Equal(3, result.Objects);     // the withdrawn PDF's bytes, the photo's bytes and its preview

        await using var db = new NpgsqlConnection(app.ConnectionString);
        Assert.Equal([posted.Id], await db.QueryAsync<Guid>("SELECT id FROM files WHERE school_id = @Id", new { school.Id }));
        var left = app.StoredObjects();
        Assert.Contains(Key(shared), left);
        Assert.DoesNotContain(Key(deletedOnly), left);
        Assert.Equal(keys.Count - 3, left.Count);

        // What is still shown is still there; what was removed is simply not found.
        await using (var got = await petya.Http.GetStreamAsync($"/api/files/{posted.Id}"))
        {
            Assert.Equal(shared.Length, (await new StreamReader(got).ReadToEndAsync()).Length);
        }

        await (await teacher.Http.GetAsync($"/api/files/{neverPosted.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "file_not_found");

        // A second run finds nothing more, and the same bytes can be uploaded again.
        Assert.Equal(new CleanupResult(0, 0, 0), await app.Services.GetRequiredService<FileCleanup>().RunOnceAsync(CancellationToken.None));
        var again = await UploadAsync("Ошибка исправлена.pdf", deletedOnly);
        await PostAsync(again.Id);
        await (await petya.Http.GetAsync($"/api/files/{again.Id}")).EnsureOkAsync();
        Assert.Contains(Key(deletedOnly), app.StoredObjects());
    }

    private static string Key(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
