using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Files;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Chat.Storage.Files;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Hub.Tests.Files;

/// <summary>
/// The file server on a real port (Kestrel: a request body arrives as it is sent, and a dropped connection is a real
/// one), with resumable uploads expiring after a minute instead of a day, so a test can age one past it.
/// </summary>
public sealed class ResumableUploadApp : FilesApp
{
    // More people sign in than the per-client code limit (30 an hour, all from the loopback here) lets through.
    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [new("Files:UploadExpirySeconds", "60"), new("Auth:CodeSendsPerClientPerHour", "1000")];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        StartServer();
        BaseUrl = new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _ = Services.GetRequiredService<IFileStore>(); // sets Store
    }

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The app's file store, whose publishing of chosen contents a test can hold (a slow disk).</summary>
    public HoldingFileStore Store { get; private set; } = null!;

    /// <summary>Upload ids whose chunk request the server saw aborted (the client gave up), by the request's RequestAborted.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> Aborted { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IFileStore));
            services.Remove(original);
            services.AddSingleton<IFileStore>(sp => Store = new HoldingFileStore((IFileStore)original.ImplementationFactory!(sp)));
            services.AddSingleton<IStartupFilter>(new WatchAborts(this));
        });
    }

    private sealed class WatchAborts(ResumableUploadApp app) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => builder =>
        {
            builder.Use(async (context, nextMiddleware) =>
            {
                if (HttpMethods.IsPatch(context.Request.Method) && context.Request.Path.Value is { } path && path.Contains("/uploads/", StringComparison.Ordinal))
                {
                    var aborted = app.Aborted.GetOrAdd(path[(path.LastIndexOf('/') + 1)..], _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    context.RequestAborted.Register(() => aborted.TrySetResult());
                }

                await nextMiddleware(context);
            });
            next(builder);
        };
    }
}

/// <summary>
/// The real store, except that publishing a content a test holds stops after the object is renamed into place until the
/// test releases it: a slow disk's fsync, during which the client may give up.
/// </summary>
public sealed class HoldingFileStore(IFileStore inner) : IFileStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (TaskCompletionSource Reached, TaskCompletionSource Release)> holds = new();

    /// <summary>Holds the next publishing of <paramref name="key"/>: Reached when it is renamed into place, held until Release.</summary>
    public (TaskCompletionSource Reached, TaskCompletionSource Release) Hold(string key) =>
        holds[key] = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public Task<IStagedObject> StageAsync(CancellationToken ct) => inner.StageAsync(ct);

    public async Task PublishAsync(IStagedObject staged, string key, CancellationToken ct)
    {
        await inner.PublishAsync(staged, key, ct);
        if (holds.TryRemove(key, out var hold))
        {
            hold.Reached.TrySetResult();
            await hold.Release.Task; // like an fsync: not cancellable
        }
    }

    public Task<bool> ExistsAsync(string key, CancellationToken ct) => inner.ExistsAsync(key, ct);

    public Task<Stream?> OpenReadAsync(string key, CancellationToken ct) => inner.OpenReadAsync(key, ct);

    public Task DeleteAsync(string key, CancellationToken ct) => inner.DeleteAsync(key, ct);

    public long? AvailableBytes() => inner.AvailableBytes();

    public Task<int> SweepStagedAsync(TimeSpan age, CancellationToken ct) => inner.SweepStagedAsync(age, ct);
}

/// <summary>Resumable uploads: chunks at the server's offset, a dropped chunk resumed, the same checks and result as one request, only for the uploader.</summary>
public sealed class ResumableUploadTests(ResumableUploadApp app) : IClassFixture<ResumableUploadApp>
{
    private const int Chunk = 256 * 1024;

    private static Task<HttpResponseMessage> StartAsync(TestUser who, Guid schoolId, string name, long size) =>
        who.Http.PostAsJsonAsync($"/api/schools/{schoolId}/uploads", new { name, size });

    private static Task<HttpResponseMessage> SendAsync(TestUser who, Guid schoolId, Guid uploadId, long offset, HttpContent content) =>
        who.Http.PatchAsync($"/api/schools/{schoolId}/uploads/{uploadId}?offset={offset}", content);

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting for: " + what);
            await Task.Delay(20);
        }
    }

    private static Task<HttpResponseMessage> SendAsync(TestUser who, Guid schoolId, Guid uploadId, long offset, byte[] bytes) =>
        SendAsync(who, schoolId, uploadId, offset, new ByteArrayContent(bytes));

    private static async Task<UploadDto> StatusAsync(TestUser who, Guid schoolId, Guid uploadId) =>
        await (await who.Http.GetAsync($"/api/schools/{schoolId}/uploads/{uploadId}")).ReadAsync<UploadDto>();

    [Fact]
    public async Task ChunkedUpload_DroppedMidChunk_ResumesFromServerOffset_FileIsByteIdenticalAndPostable()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var bytes = SampleFiles.Pdf(1_200_000);
        var started = await (await StartAsync(room.Teacher, room.School.Id, "Урок 7. Дроби.pdf", bytes.Length)).ReadAsync<UploadDto>();
        Assert.Equal((0L, (long)bytes.Length, "Урок 7. Дроби.pdf"), (started.Offset, started.Size, started.Name));
        Assert.Null(started.File);
        Assert.True(started.ExpiresAt > DateTime.UtcNow);

        // Two whole chunks, then a chunk whose connection drops after 100 000 of its bytes.
        var offset = 0L;
        for (var i = 0; i < 2; i++)
        {
            var progress = await (await SendAsync(room.Teacher, room.School.Id, started.UploadId, offset, bytes[(int)offset..(int)(offset + Chunk)])).ReadAsync<UploadDto>();
            offset += Chunk;
            Assert.Equal(offset, progress.Offset);
        }

        var dropped = new DroppingContent(bytes[(int)offset..(int)(offset + Chunk)], cutAfter: 100_000);
        using var connection = new CancellationTokenSource();
        // A client without the test client's redirect handler, which would read the whole body before sending it.
        using var streaming = new HttpClient { BaseAddress = app.BaseUrl };
        streaming.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", room.Teacher.Tokens.AccessToken);
        var lost = streaming.PatchAsync($"/api/schools/{room.School.Id}/uploads/{started.UploadId}?offset={offset}", dropped, connection.Token);

        // The server keeps what arrived, and says so while the rest is still missing; then the connection goes.
        var resumeAt = offset + 100_000;
        await EventuallyAsync(async () => (await StatusAsync(room.Teacher, room.School.Id, started.UploadId)).Offset == resumeAt, "the bytes before the drop");
        await connection.CancelAsync();
        dropped.Drop();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lost);
        Assert.Equal(resumeAt, (await StatusAsync(room.Teacher, room.School.Id, started.UploadId)).Offset);

        offset = resumeAt;
        UploadDto last = started;
        while (offset < bytes.Length)
        {
            var end = (int)Math.Min(bytes.Length, offset + Chunk);
            using var response = await SendAsync(room.Teacher, room.School.Id, started.UploadId, offset, bytes[(int)offset..end]);
            if (response.StatusCode == HttpStatusCode.Conflict && (await response.ReadProblemAsync())?.Code == "upload_busy")
            {
                continue; // the dropped request is still being wound up on the server
            }

            last = await response.ReadAsync<UploadDto>();
            Assert.Equal(end, last.Offset);
            Assert.Equal(end.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(response.Headers.GetValues("Upload-Offset")));
            offset = end;
        }

        // The last byte made it a file, checked and stored as a one-request upload would be.
        var file = Assert.IsType<FileDto>(last.File);
        Assert.Equal(("Урок 7. Дроби.pdf", "document", "application/pdf", (long)bytes.Length), (file.Name, file.Kind, file.ContentType, file.Size));
        Assert.Empty(Directory.GetFiles(app.FilesRoot, "*.part", SearchOption.AllDirectories));

        // A repeated last chunk (its answer lost) returns the same file; so does the status.
        var again = await (await SendAsync(room.Teacher, room.School.Id, started.UploadId, bytes.Length, [])).ReadAsync<UploadDto>();
        Assert.Equal(file.Id, again.File?.Id);
        Assert.Equal(file.Id, (await StatusAsync(room.Teacher, room.School.Id, started.UploadId)).File?.Id);

        // Posted as any upload, and every reader downloads exactly the bytes sent.
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { file.Id } }))
            .ReadAsync<MessageDto>();
        Assert.Equal(bytes, await room.Petya.Http.GetByteArrayAsync($"/api/files/{file.Id}"));

        // The same content uploaded in one request is deduplicated with it.
        var single = await (await FileCalls.UploadAsync(room.Teacher, room.School.Id, "Копия.pdf", bytes)).ReadAsync<FileDto>();
        Assert.NotEqual(file.Id, single.Id);
        Assert.Single(app.StoredObjects(), o => o == Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    /// <summary>
    /// The web client gives up a request after 30 s without progress and asks again. The chunk that brings a large
    /// file's last byte answers only once the whole file is copied, hashed, checked and fsynced: a client giving up then
    /// cancelled the completion (for ever, retry after retry, on a slow disk), and a cancellation after the object's
    /// rename left it on disk with no content row, never counted nor cleaned up. Now the completion runs to its end.
    /// </summary>
    [Fact]
    public async Task CompletingChunk_ClientGivesUpMidway_CompletionFinishesOnce_StatusShowsTheFile()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        var bytes = SampleFiles.Pdf(700_000);
        var key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var upload = await (await StartAsync(room.Teacher, school.Id, "Лекция.pdf", bytes.Length)).ReadAsync<UploadDto>();
        await (await SendAsync(room.Teacher, school.Id, upload.UploadId, 0, bytes[..Chunk])).EnsureOkAsync();

        // The last chunk: the server renames the object into place, then its disk is slow; the client gives up.
        var hold = app.Store.Hold(key);
        using var giveUp = new CancellationTokenSource();
        using var streaming = new HttpClient { BaseAddress = app.BaseUrl };
        streaming.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", room.Teacher.Tokens.AccessToken);
        var last = streaming.PatchAsync($"/api/schools/{school.Id}/uploads/{upload.UploadId}?offset={Chunk}", new ByteArrayContent(bytes[Chunk..]), giveUp.Token);
        await hold.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => last);
        await app.Aborted[upload.UploadId.ToString()].Task.WaitAsync(TimeSpan.FromSeconds(10)); // the server saw the request go

        // Asking again while the completion runs: busy, not a second completion; the status has every byte, no file yet.
        await (await SendAsync(room.Teacher, school.Id, upload.UploadId, bytes.Length, [])).ExpectErrorAsync(HttpStatusCode.Conflict, "upload_busy");
        var pending = await StatusAsync(room.Teacher, school.Id, upload.UploadId);
        Assert.Equal(((long)bytes.Length, (FileDto?)null), (pending.Offset, pending.File));

        // The disk catches up: the completion finishes though nobody waits for it, and the status shows the file.
        hold.Release.SetResult();
        FileDto? file = null;
        await EventuallyAsync(async () => (file = (await StatusAsync(room.Teacher, school.Id, upload.UploadId)).File) is not null, "the completed file");
        Assert.Equal(("Лекция.pdf", (long)bytes.Length), (file!.Name, file.Size));
        var again = await (await SendAsync(room.Teacher, school.Id, upload.UploadId, bytes.Length, [])).ReadAsync<UploadDto>();
        Assert.Equal(file.Id, again.File?.Id);

        // Recorded and counted once: one file, one content row, one object, the school's usage its size.
        await using var db = new NpgsqlConnection(app.ConnectionString);
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM files WHERE school_id = @Id", new { school.Id }));
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM file_blobs WHERE sha256 = @sha", new { sha = Convert.FromHexString(key) }));
        Assert.Single(app.StoredObjects(), o => o == key);
        Assert.Equal((long)bytes.Length, (await (await school.Admin.Http.GetAsync($"{school.Api}/storage")).ReadAsync<StorageDto>()).UsedBytes);
        Assert.Empty(Directory.GetFiles(app.FilesRoot, upload.UploadId.ToString("N") + ".part", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task WrongOffset_RefusedWithTheServersOffset_BadOffsetsAndTooLongBodies_NeverAServerError()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var bytes = SampleFiles.Pdf(100_000);
        var upload = await (await StartAsync(school.Admin, school.Id, "План.pdf", bytes.Length)).ReadAsync<UploadDto>();
        await (await SendAsync(school.Admin, school.Id, upload.UploadId, 0, bytes[..40_000])).EnsureOkAsync();

        foreach (var wrong in new long[] { 0, 39_999, 40_001, 100_000, long.MaxValue })
        {
            using var response = await SendAsync(school.Admin, school.Id, upload.UploadId, wrong, bytes[40_000..50_000]);
            var problem = await response.ExpectErrorAsync(HttpStatusCode.Conflict, "upload_offset_mismatch");
            Assert.Equal("40000", Assert.Single(response.Headers.GetValues("Upload-Offset")));
            Assert.Contains("40000", problem.Detail);
        }

        await (await SendAsync(school.Admin, school.Id, upload.UploadId, -1, bytes[40_000..50_000])).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await school.Admin.Http.PatchAsync($"/api/schools/{school.Id}/uploads/{upload.UploadId}", new ByteArrayContent(bytes[40_000..50_000])))
            .ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await school.Admin.Http.PatchAsync($"/api/schools/{school.Id}/uploads/{upload.UploadId}?offset=abc", new ByteArrayContent(bytes[40_000..50_000])))
            .ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");

        // A chunk reaching past the declared size is refused, whether its length is known in advance or not; nothing of it is kept.
        await (await SendAsync(school.Admin, school.Id, upload.UploadId, 40_000, new byte[60_001])).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "upload_too_long");
        await (await SendAsync(school.Admin, school.Id, upload.UploadId, 40_000, new GeneratedContent(bytes[40_000..], 200_000))).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "upload_too_long");
        Assert.Equal(40_000, (await StatusAsync(school.Admin, school.Id, upload.UploadId)).Offset);

        // Unknown ids and malformed bodies are answers, not errors of the server.
        await (await SendAsync(school.Admin, school.Id, Guid.NewGuid(), 0, bytes)).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        await (await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/uploads/{Guid.NewGuid()}")).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        await (await school.Admin.Http.PostAsJsonAsync($"/api/schools/{school.Id}/uploads", new { name = "План.pdf", size = -5 })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await school.Admin.Http.PostAsJsonAsync($"/api/schools/{school.Id}/uploads", new { name = "План.pdf" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");

        // The rest completes it; a cancelled upload is gone.
        var done = await (await SendAsync(school.Admin, school.Id, upload.UploadId, 40_000, bytes[40_000..])).ReadAsync<UploadDto>();
        Assert.Equal(bytes.Length, done.File!.Size);
        var cancelled = await (await StartAsync(school.Admin, school.Id, "Черновик.pdf", 10)).ReadAsync<UploadDto>();
        Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.DeleteAsync($"/api/schools/{school.Id}/uploads/{cancelled.UploadId}")).StatusCode);
        await (await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/uploads/{cancelled.UploadId}")).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        Assert.DoesNotContain(app.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("/uploads/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnotherPersonOrSchool_CannotReadContinueOrCancelTheUpload()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var bytes = SampleFiles.Pdf(50_000);
        var upload = await (await StartAsync(room.Teacher, room.School.Id, "Контрольная.pdf", bytes.Length)).ReadAsync<UploadDto>();
        await (await SendAsync(room.Teacher, room.School.Id, upload.UploadId, 0, bytes[..10_000])).EnsureOkAsync();

        var path = $"/api/schools/{room.School.Id}/uploads/{upload.UploadId}";
        foreach (var stranger in new[] { room.Petya, room.School.Admin })
        {
            await (await stranger.Http.GetAsync(path)).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
            await (await SendAsync(stranger, room.School.Id, upload.UploadId, 10_000, bytes[10_000..])).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
            await (await stranger.Http.DeleteAsync(path)).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        }

        // Another school's admin: not a member here, and the upload is not in their school either.
        await (await other.Admin.Http.GetAsync(path)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await SendAsync(other.Admin, other.Id, upload.UploadId, 10_000, bytes[10_000..])).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        // Nor is it the teacher's upload in another school's name.
        await (await room.Teacher.Http.GetAsync($"/api/schools/{other.Id}/uploads/{upload.UploadId}")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // Untouched by all that: the teacher finishes it.
        Assert.Equal(10_000, (await StatusAsync(room.Teacher, room.School.Id, upload.UploadId)).Offset);
        var done = await (await SendAsync(room.Teacher, room.School.Id, upload.UploadId, 10_000, bytes[10_000..])).ReadAsync<UploadDto>();
        Assert.NotNull(done.File);
    }

    /// <summary>
    /// On 3G a declaration can reach the server and its answer be lost; the client declares again under the id it chose:
    /// the same upload comes back (the bytes it has, then its file), its size promised once against the school's quota and
    /// counted once among the person's open uploads. Before, every declaration was a new upload: the first, known to
    /// nobody, held its 2 MB of the 3 MB quota for a day, and the repeat was refused with storage_quota_exceeded.
    /// Someone else's id, another file under the same id or another school's are refused, and that upload is left as it is.
    /// </summary>
    [Fact]
    public async Task Declaration_RepeatedUnderTheClientsId_ReturnsTheSameUpload_ReservedOnce_AnotherPersonsIdNotTakenOver()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var schoolId = room.School.Id;
        var bytes = SampleFiles.Pdf(2_000_000); // of the 3 MB quota
        var id = Guid.NewGuid();
        Task<HttpResponseMessage> DeclareAsync(TestUser who, Guid school, string name = "Урок.pdf", long? size = null) =>
            who.Http.PostAsJsonAsync($"/api/schools/{school}/uploads", new { name, size = size ?? bytes.Length, uploadId = id });
        await using var db = new NpgsqlConnection(app.ConnectionString);
        Task<int> RowsAsync() => db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM file_uploads WHERE school_id = @schoolId", new { schoolId });

        var first = await DeclareAsync(room.Teacher, schoolId);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(id, (await first.ReadAsync<UploadDto>()).UploadId);
        var again = await DeclareAsync(room.Teacher, schoolId);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var repeated = await again.ReadAsync<UploadDto>();
        Assert.Equal((id, 0L, (FileDto?)null), (repeated.UploadId, repeated.Offset, repeated.File));
        Assert.Equal(1, await RowsAsync());

        // Its 2 MB are promised once: a 1 MB upload still fits beside it under the 3 MB quota.
        var beside = await (await StartAsync(room.Teacher, schoolId, "Задачи.pdf", 1_000_000)).ReadAsync<UploadDto>();
        await (await room.Teacher.Http.DeleteAsync($"/api/schools/{schoolId}/uploads/{beside.UploadId}")).EnsureOkAsync();

        // Someone else's id is not taken over: not by a classmate, not by another school's admin, not for another file.
        foreach (var (who, school) in new[] { (room.Petya, schoolId), (room.School.Admin, schoolId), (other.Admin, other.Id) })
        {
            Assert.Contains("uploadId", (await (await DeclareAsync(who, school)).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed")).Errors!.Keys);
        }

        await (await DeclareAsync(room.Teacher, schoolId, "Другой урок.pdf")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await DeclareAsync(room.Teacher, schoolId, size: 1000)).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await room.Petya.Http.GetAsync($"/api/schools/{schoolId}/uploads/{id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        Assert.Equal(1, await RowsAsync());

        // Declared again midway, it says how far it got; once complete, it gives the file, recorded once.
        await (await SendAsync(room.Teacher, schoolId, id, 0, bytes[..Chunk])).EnsureOkAsync();
        Assert.Equal(Chunk, (await (await DeclareAsync(room.Teacher, schoolId)).ReadAsync<UploadDto>()).Offset);
        var done = await (await SendAsync(room.Teacher, schoolId, id, Chunk, bytes[Chunk..])).ReadAsync<UploadDto>();
        Assert.NotNull(done.File);
        var afterwards = await DeclareAsync(room.Teacher, schoolId);
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
        Assert.Equal(done.File!.Id, (await afterwards.ReadAsync<UploadDto>()).File?.Id);
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM files WHERE school_id = @schoolId", new { schoolId }));
        Assert.Equal(1, await RowsAsync());

        // The id of a one-request upload of the teacher's is not a resumable upload's to take.
        var oneRequest = Guid.NewGuid();
        await (await room.Teacher.Http.PostAsync($"/api/schools/{schoolId}/files?name=Записка.pdf&uploadId={oneRequest}", new ByteArrayContent(SampleFiles.Pdf(10_000)))).EnsureOkAsync();
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/schools/{schoolId}/uploads", new { name = "Записка.pdf", size = 10_000, uploadId = oneRequest }))
            .ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task OversizeOrWrongType_RefusedAtOnce_ByDeclaredSizeOrFirstChunk()
    {
        var school = await new SchoolBuilder(app).CreateAsync();

        // Over the kind's limit (video 4 MB here), over the school's quota (3 MB here), an extension the server refuses.
        var tooLarge = await (await StartAsync(school.Admin, school.Id, "Урок.mp4", 5L * 1024 * 1024)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "file_too_large");
        Assert.Contains("4 МБ", tooLarge.Detail);
        await (await StartAsync(school.Admin, school.Id, "Урок.mp4", 7L * 1024 * 1024 / 2)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");
        await (await StartAsync(school.Admin, school.Id, "setup.exe", 1000)).ExpectErrorAsync(HttpStatusCode.UnsupportedMediaType, "file_type_not_allowed");
        await (await StartAsync(school.Admin, school.Id, "Урок.mp4", 2L * 1024 * 1024 * 1024 * 1024)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "file_too_large");

        // The content is known from the first chunk: an executable named .pdf is refused then, and the upload is gone.
        var exe = SampleFiles.Exe();
        var fake = await (await StartAsync(school.Admin, school.Id, "Реферат.pdf", exe.Length + 10_000)).ReadAsync<UploadDto>();
        await (await SendAsync(school.Admin, school.Id, fake.UploadId, 0, [.. exe, .. new byte[FileTypesHead]])).ExpectErrorAsync(HttpStatusCode.UnsupportedMediaType, "file_type_not_allowed");
        await (await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/uploads/{fake.UploadId}")).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");
        Assert.Empty(Directory.GetFiles(app.FilesRoot, fake.UploadId.ToString("N") + ".part", SearchOption.AllDirectories));

        await using var db = new NpgsqlConnection(app.ConnectionString);
        Assert.Equal(0, await db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM files WHERE school_id = @Id", new { school.Id }));

        // Unfinished uploads are promised their room: two of 2 MB do not fit a 3 MB quota together, though each would.
        var first = await (await StartAsync(school.Admin, school.Id, "Лекция.mp4", 2L * 1024 * 1024)).ReadAsync<UploadDto>();
        await (await StartAsync(school.Admin, school.Id, "Лекция 2.mp4", 2L * 1024 * 1024)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");
        await (await school.Admin.Http.DeleteAsync($"/api/schools/{school.Id}/uploads/{first.UploadId}")).EnsureOkAsync();
        var second = await (await StartAsync(school.Admin, school.Id, "Лекция 2.mp4", 2L * 1024 * 1024)).ReadAsync<UploadDto>();
        await (await school.Admin.Http.DeleteAsync($"/api/schools/{school.Id}/uploads/{second.UploadId}")).EnsureOkAsync(); // no bytes left behind
    }

    /// <summary>
    /// The room promised to unfinished uploads is kept from one-request uploads too (before, a 1.5 MB photo album took
    /// the room of a declared 2 MB lesson under a 3 MB quota, and the lesson's next chunk was refused and the upload
    /// removed with what it had); uploads that fit the quota exactly all complete (an upload's own promise does not
    /// count against it); and an upload refused by the quota midway is kept, to complete once room is made.
    /// </summary>
    [Fact]
    public async Task PromisedRoom_KeptFromOneRequestUploads_UploadsFittingExactlyComplete_QuotaRefusalKeepsTheUpload()
    {
        const long Quota = 3 * 1024 * 1024; // FilesApp's
        var school = await new SchoolBuilder(app).CreateAsync();
        async Task<UploadDto> SendAllAsync(UploadDto upload, byte[] bytes, long from = 0)
        {
            var last = upload;
            for (var offset = from; offset < bytes.Length; offset += Chunk)
            {
                last = await (await SendAsync(school.Admin, school.Id, upload.UploadId, offset, bytes[(int)offset..(int)Math.Min(bytes.Length, offset + Chunk)])).ReadAsync<UploadDto>();
            }

            return last;
        }

        // A 2 MB lesson is declared: a 1.5 MB document sent in one request does not fit beside it, with its length
        // known or not.
        var lesson = await (await StartAsync(school.Admin, school.Id, "Урок.pdf", 2 * 1024 * 1024)).ReadAsync<UploadDto>();
        var album = SampleFiles.Pdf(3 * 1024 * 1024 / 2);
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Альбом.pdf", album)).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Альбом.pdf", new GeneratedContent(album[..4096], album.Length)))
            .ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");
        await (await school.Admin.Http.DeleteAsync($"/api/schools/{school.Id}/uploads/{lesson.UploadId}")).EnsureOkAsync();

        // Two uploads declared to fill the quota exactly both complete, chunk by chunk.
        var first = SampleFiles.Pdf(1_500_000);
        var second = System.Text.Encoding.ASCII.GetBytes(new string('a', (int)(Quota - first.Length)));
        var a = await (await StartAsync(school.Admin, school.Id, "Конспект.pdf", first.Length)).ReadAsync<UploadDto>();
        var b = await (await StartAsync(school.Admin, school.Id, "Задачи.txt", second.Length)).ReadAsync<UploadDto>();
        Assert.NotNull((await SendAllAsync(a, first)).File);
        Assert.NotNull((await SendAllAsync(b, second)).File);
        Assert.Equal(Quota, (await (await school.Admin.Http.GetAsync($"{school.Api}/storage")).ReadAsync<StorageDto>()).UsedBytes);

        // In another school, the room an upload was promised is taken midway (here by a row the test writes): its next
        // chunk is refused by the quota, and the upload is kept with its bytes; once room is made it completes.
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var notes = SampleFiles.Pdf(100_000);
        var c = await (await StartAsync(other.Admin, other.Id, "Записки.pdf", notes.Length)).ReadAsync<UploadDto>();
        await (await SendAsync(other.Admin, other.Id, c.UploadId, 0, notes[..10_000])).EnsureOkAsync();
        var taken = System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray());
        await app.ExecuteSqlAsync(
            """
            INSERT INTO file_blobs (sha256, size) VALUES (@taken, @size);
            INSERT INTO files (id, school_id, uploader_id, upload_id, sha256, name, kind, content_type, size)
            VALUES (gen_random_uuid(), @school, @admin, gen_random_uuid(), @taken, 'Архив.pdf', 'document', 'application/pdf', @size)
            """,
            new { taken, size = Quota - 50_000, school = other.Id, admin = other.Admin.AccountId });
        await (await SendAsync(other.Admin, other.Id, c.UploadId, 10_000, notes[10_000..20_000])).ExpectErrorAsync(HttpStatusCode.RequestEntityTooLarge, "storage_quota_exceeded");
        var kept = await StatusAsync(other.Admin, other.Id, c.UploadId);
        Assert.Null(kept.File);
        await app.ExecuteSqlAsync("DELETE FROM files WHERE sha256 = @taken", new { taken });
        var done = await (await SendAsync(other.Admin, other.Id, c.UploadId, kept.Offset, notes[(int)kept.Offset..])).ReadAsync<UploadDto>();
        Assert.Equal((long?)notes.Length, done.File?.Size);
        Assert.Equal(notes, await other.Admin.Http.GetByteArrayAsync($"/api/files/{done.File!.Id}"));
    }

    [Fact]
    public async Task ExpiredUpload_RemovedWithItsBytesByTheCleanup_FreshOneKept()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var bytes = SampleFiles.Pdf(30_000);
        var old = await (await StartAsync(school.Admin, school.Id, "Старое.pdf", bytes.Length)).ReadAsync<UploadDto>();
        var fresh = await (await StartAsync(school.Admin, school.Id, "Новое.pdf", bytes.Length)).ReadAsync<UploadDto>();
        await (await SendAsync(school.Admin, school.Id, old.UploadId, 0, bytes[..10_000])).EnsureOkAsync();
        await (await SendAsync(school.Admin, school.Id, fresh.UploadId, 0, bytes[..10_000])).EnsureOkAsync();
        string Part(Guid id) => Path.Combine(app.FilesRoot, ".staging", "uploads", id.ToString("N") + ".part");
        Assert.True(File.Exists(Part(old.UploadId)));

        // Not continued for longer than Files:UploadExpirySeconds (60 s here).
        await app.ExecuteSqlAsync("UPDATE file_uploads SET touched_at = now() - interval '61 seconds' WHERE id = @id", new { id = old.UploadId });
        await (await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/uploads/{old.UploadId}")).ExpectErrorAsync(HttpStatusCode.NotFound, "upload_not_found");

        var result = await app.Services.GetRequiredService<FileCleanup>().RunOnceAsync(CancellationToken.None);
        Assert.True(result.Uploads >= 1);
        Assert.False(File.Exists(Part(old.UploadId)));
        Assert.Equal(0, await app.ExecuteSqlAsync("DELETE FROM file_uploads WHERE id = @id", new { id = old.UploadId }));
        Assert.True(File.Exists(Part(fresh.UploadId)));
        Assert.Equal(10_000, (await StatusAsync(school.Admin, school.Id, fresh.UploadId)).Offset);
    }

    private const int FileTypesHead = FileTypes.HeadLength;

    /// <summary>A request body that sends part of its bytes, stalls, and fails on <see cref="Drop"/>: a mobile connection dropping mid-request.</summary>
    private sealed class DroppingContent(byte[] bytes, int cutAfter) : HttpContent
    {
        private readonly TaskCompletionSource dropped = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Drop() => dropped.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, cutAfter));
            await stream.FlushAsync();
            await dropped.Task;
            throw new IOException("the connection dropped");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
