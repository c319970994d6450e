using Microsoft.Playwright;

namespace Chat.Web.Tests;

/// <summary>Files for the page's file input; the bytes come from <see cref="Chat.Testing.SampleFiles"/>.</summary>
public static class Upload
{
    public static FilePayload File(string name, string mime, byte[] bytes) => new() { Name = name, MimeType = mime, Buffer = bytes };
}
