using System.Net;
using System.Text;
using Chat.Hub.Features.Files;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Npgsql;

namespace Chat.Hub.Tests.Files;

/// <summary>What an upload must pass: type by content (agreeing with the name), size limits while streaming, the school's quota.</summary>
public sealed class FileUploadCheckTests(FilesApp app) : IClassFixture<FilesApp>
{
    private async Task<int> FilesOfSchoolAsync(Guid schoolId)
    {
        await using var db = new NpgsqlConnection(app.ConnectionString);
        return await db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM files WHERE school_id = @schoolId", new { schoolId });
    }

    [Fact]
    public async Task Upload_ExeRenamedAsJpg_RefusedAndNothingStored()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var objects = app.StoredObjects().Count;

        var problem = await (await FileCalls.UploadAsync(school.Admin, school.Id, "котик.jpg", SampleFiles.Exe()))
            .ExpectErrorAsync(HttpStatusCode.UnsupportedMediaType, "file_type_not_allowed");
        Assert.Contains("JPEG", problem.Title);
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "setup.exe", SampleFiles.Exe()))
            .ExpectErrorAsync(HttpStatusCode.UnsupportedMediaType, "file_type_not_allowed");

        Assert.Equal(0, await FilesOfSchoolAsync(school.Id));
        Assert.Equal(objects, app.StoredObjects().Count);
        Assert.Empty(app.StagedLeftovers());
    }

    [Fact]
    public async Task Upload_ContentAndExtensionDisagree_FileTypeMismatch()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cases = new (string Name, byte[] Bytes)[]
        {
            ("фото.jpg", SampleFiles.Png(10, 10)),
            ("документ.pdf", SampleFiles.Jpeg(10, 10)),
            ("таблица.xlsx", SampleFiles.Docx()),
            ("видео.mp4", SampleFiles.Pdf()),
            ("заметки.txt", SampleFiles.Png(10, 10)),
            ("без расширения", SampleFiles.Pdf()),
        };
        foreach (var (name, bytes) in cases)
        {
            var response = await FileCalls.UploadAsync(school.Admin, school.Id, name, bytes);
            var code = name == "без расширения" ? "file_type_not_allowed" : "file_type_mismatch";
            await response.ExpectErrorAsync(HttpStatusCode.UnsupportedMediaType, code);
        }

        Assert.Equal(0, await FilesOfSchoolAsync(school.Id));
    }

    [Fact]
    public async Task Upload_HtmlOrSvg_NeverAccepted_PlainTextServedAsAttachment()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var html = Encoding.UTF8.GetBytes("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>");
        var svg = Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"></svg>");
        foreach (var (name, bytes) in new[] { ("page.html", html), ("page.txt", html), ("  \n<html>.txt", html), ("image.svg", svg), ("image.txt", svg), ("рисунок.png", svg) })
        {
            var response = await FileCalls.UploadAsync(school.Admin, school.Id, name, bytes);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        }

        // Text with NUL bytes or invalid UTF-8 further on is not text either.
        var broken = Encoding.UTF8.GetBytes(new string('а', 5000)).Concat(new byte[] { 0xC3, 0x28 }).ToArray();
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "битый.txt", broken)).ExpectErrorAsync(HttpStatusCode.UnsupportedMediaType, "file_type_not_allowed");

        var text = Encoding.UTF8.GetBytes("Домашнее задание: упр. 5, 6, 7.\nПовторить правила.\n");
        var file = await (await FileCalls.UploadAsync(school.Admin, school.Id, "../../etc/Задание.txt", text)).ReadAsync<FileDto>();
        Assert.Equal(("Задание.txt", "document", "text/plain; charset=utf-8"), (file.Name, file.Kind, file.ContentType));
        using var got = await school.Admin.Http.GetAsync($"/api/files/{file.Id}");
        await got.EnsureOkAsync();
        Assert.Equal(text, await got.Content.ReadAsByteArrayAsync());
        Assert.Equal("text/plain", got.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", got.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("nosniff", Assert.Single(got.Headers.GetValues("X-Content-Type-Options")));
        Assert.Contains("sandbox", Assert.Single(got.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task Upload_OverTheLimit_StoppedEarlyWith413_NothingRemains()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var objects = app.StoredObjects().Count;

        // A JPEG header, then 20 MB more, of unknown length: the photo limit here is 512 KB.
        var (response, uploadId) = await FileCalls.UploadTrackedAsync(school.Admin, school.Id, "огромное фото.jpg",
            new GeneratedContent(SampleFiles.Jpeg(64, 64), 20L * 1024 * 1024));
        var problem = await response.ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "file_too_large");
        Assert.Equal("Фото — не больше 512 КБ.", problem.Detail);
        var read = app.BodiesRead[uploadId].BytesRead;
        Assert.True(read <= (512 + 64) * 1024, $"the server read {read} bytes of a body over a 512 KB limit");

        // A declared length over the limit is refused before the body is read at all.
        var declared = new ByteArrayContent(new byte[600 * 1024]);
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "фото.jpg", declared)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "file_too_large");

        // Each kind has its own limit: the same 1.5 MB is too much for audio, fine for a document.
        var pdf = SampleFiles.Pdf(1536 * 1024);
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "лекция.mp3", new GeneratedContent([0xFF, 0xFB, 0x90, 0x64], 1536 * 1024)))
            .ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "file_too_large");

        Assert.Equal(0, await FilesOfSchoolAsync(school.Id));
        Assert.Equal(objects, app.StoredObjects().Count);
        Assert.Empty(app.StagedLeftovers());
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "лекция.pdf", pdf)).EnsureOkAsync();
    }

    [Fact]
    public async Task Upload_OverTheSchoolQuota_Refused_UsageShownToAdmins()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var first = SampleFiles.Pdf(1700 * 1024);
        var second = SampleFiles.Pdf(1600 * 1024);
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Первый.pdf", first)).EnsureOkAsync();

        // Declared: refused at once; streamed: refused when the quota is passed.
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Второй.pdf", second)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Второй.pdf", new GeneratedContent(second[..4096], second.Length)))
            .ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");

        var storage = await (await school.Admin.Http.GetAsync($"{school.Api}/storage")).ReadAsync<StorageDto>();
        Assert.Equal(first.Length, storage.UsedBytes);
        Assert.Equal(1, storage.ByKind.Single(k => k.Kind == "document").Files);
        Assert.Equal(1, await FilesOfSchoolAsync(school.Id));
        Assert.Empty(app.StagedLeftovers());
    }

    [Fact]
    public async Task Upload_MissingUploadIdOrName_ValidationFailed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var pdf = SampleFiles.Pdf(1000);
        var noId = await school.Admin.Http.PostAsync($"/api/schools/{school.Id}/files?name=a.pdf", new ByteArrayContent(pdf));
        Assert.Contains("uploadId", (await noId.ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed")).Errors!.Keys);
        var noName = await school.Admin.Http.PostAsync($"/api/schools/{school.Id}/files?uploadId={Guid.NewGuid()}", new ByteArrayContent(pdf));
        Assert.Contains("name", (await noName.ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed")).Errors!.Keys);
        var empty = await FileCalls.UploadAsync(school.Admin, school.Id, "пусто.pdf", []);
        Assert.Contains("file", (await empty.ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed")).Errors!.Keys);
        using var anonymous = app.CreateClient();
        await (await anonymous.PostAsync($"/api/schools/{school.Id}/files?name=a.pdf&uploadId={Guid.NewGuid()}", new ByteArrayContent(pdf)))
            .ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }
}
