using System.Diagnostics;
using System.Net;
using Chat.Hub.Features.Files;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Npgsql;

namespace Chat.Hub.Tests.Files;

/// <summary>The file store on a real 1 MB file system (a tmpfs mounted for the test): uploads that do not fit.</summary>
public sealed class DiskFullApp : FilesApp
{
    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
    [
        new("Files:MaxDocumentBytes", (8 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Files:SchoolQuotaBytes", (100 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    public override async Task InitializeAsync()
    {
        Directory.CreateDirectory(FilesRoot);
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", FilesRoot);
        if (code != 0)
        {
            throw new InvalidOperationException($"The disk-full test mounts a 1 MB tmpfs and needs root for it (as CI has): {output}");
        }

        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await RunAsync("umount", "-l", FilesRoot);
        try
        {
            Directory.Delete(FilesRoot, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }

    private static async Task<(int, string)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}

public sealed class DiskFullTests(DiskFullApp app) : IClassFixture<DiskFullApp>
{
    [Fact]
    public async Task Upload_DiskFull_507StorageFull_NoPartialFileVisible()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var big = SampleFiles.Pdf(3 * 1024 * 1024);

        // Of unknown length: the disk fills up while the file is written.
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Запись собрания.pdf", new GeneratedContent(big[..4096], big.Length)))
            .ExpectErrorAsync(HttpStatusCode.InsufficientStorage, "storage_full");
        Assert.Empty(app.StagedLeftovers());
        Assert.Empty(app.StoredObjects());

        // Of known length: refused before a byte is written.
        await (await FileCalls.UploadAsync(school.Admin, school.Id, "Запись собрания.pdf", big))
            .ExpectErrorAsync(HttpStatusCode.InsufficientStorage, "storage_full");
        Assert.Empty(app.StagedLeftovers());

        await using (var db = new NpgsqlConnection(app.ConnectionString))
        {
            Assert.Equal(0, await db.ExecuteScalarAsync<int>("SELECT count(*)::int FROM files WHERE school_id = @Id", new { school.Id }));
        }

        // The space of the failed upload was given back: a small file fits and is served.
        var small = SampleFiles.Pdf(20_000);
        var file = await (await FileCalls.UploadAsync(school.Admin, school.Id, "Объявление.pdf", small)).ReadAsync<FileDto>();
        Assert.Equal(small, await school.Admin.Http.GetByteArrayAsync($"/api/files/{file.Id}"));
        Assert.Single(app.StoredObjects());
    }
}
