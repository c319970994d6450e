namespace Chat.LoadTests;

/// <summary>Finds the built server of this repository when no path is given.</summary>
public static class Locate
{
    public static string? RepositoryRoot(string? from = null)
    {
        for (var dir = new DirectoryInfo(from ?? AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Chat.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>src/Chat.Hub/bin/Release/net10.0/Chat.Hub.dll (or Debug) of the repository this harness was built in.</summary>
    public static string? HubDll()
    {
        var root = RepositoryRoot() ?? RepositoryRoot(Environment.CurrentDirectory);
        if (root is null)
        {
            return null;
        }

        foreach (var configuration in new[] { "Release", "Debug" })
        {
            var path = Path.Combine(root, "src", "Chat.Hub", "bin", configuration, "net10.0", "Chat.Hub.dll");
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}
