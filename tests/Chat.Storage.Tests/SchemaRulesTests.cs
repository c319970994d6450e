using Chat.Testing;
using Dapper;
using Npgsql;

namespace Chat.Storage.Tests;

/// <summary>Rules the database enforces by itself, whatever the application code does.</summary>
public sealed class SchemaRulesTests
{
    [Fact]
    public async Task AuditEvents_Update_IsRefused()
    {
        await using var db = await TestDatabase.CreateAsync();
        var school = await db.SchoolAsync();
        var id = await db.Connection.ExecuteScalarAsync<long>(
            "INSERT INTO audit_events (school_id, action) VALUES (@school, 'class.created') RETURNING id", new { school });

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.Connection.ExecuteAsync(
            "UPDATE audit_events SET action = 'nothing.happened' WHERE id = @id", new { id }));

        Assert.Equal(PostgresErrorCodes.RaiseException, error.SqlState);
        Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        Assert.Equal("class.created", await db.Connection.ExecuteScalarAsync<string>("SELECT action FROM audit_events WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task AuditEvents_Delete_IsRefused()
    {
        await using var db = await TestDatabase.CreateAsync();
        var school = await db.SchoolAsync();
        await db.Connection.ExecuteAsync("INSERT INTO audit_events (school_id, action) VALUES (@school, 'a'), (@school, 'b')", new { school });

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.Connection.ExecuteAsync("DELETE FROM audit_events"));

        Assert.Equal(PostgresErrorCodes.RaiseException, error.SqlState);
        Assert.Equal(2, await db.Connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM audit_events"));
    }

    [Fact]
    public async Task Students_SecondClassInSameSchool_IsUniqueViolation()
    {
        await using var db = await TestDatabase.CreateAsync();
        var school = await db.SchoolAsync();
        var class5A = await db.ClassAsync(school, "5А");
        var class5B = await db.ClassAsync(school, "5Б");
        var pupil = await db.MemberAsync(school);
        await db.EnrolAsync(school, pupil, class5A);

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.EnrolAsync(school, pupil, class5B));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
        Assert.Equal("students_pkey", error.ConstraintName);
        Assert.Equal(class5A, await db.Connection.ExecuteScalarAsync<Guid>(
            "SELECT class_id FROM students WHERE school_id = @school AND account_id = @pupil", new { school, pupil }));
    }

    [Fact]
    public async Task Students_OneClassInEachOfTwoSchools_IsAllowed()
    {
        await using var db = await TestDatabase.CreateAsync();
        var schoolA = await db.SchoolAsync();
        var schoolB = await db.SchoolAsync();
        var pupil = await db.AccountAsync();
        await db.MemberAsync(schoolA, pupil);
        await db.MemberAsync(schoolB, pupil);

        await db.EnrolAsync(schoolA, pupil, await db.ClassAsync(schoolA, "5А"));
        await db.EnrolAsync(schoolB, pupil, await db.ClassAsync(schoolB, "Музыка"));

        Assert.Equal(2, await db.Connection.ExecuteScalarAsync<int>("SELECT count(*)::int FROM students WHERE account_id = @pupil", new { pupil }));
    }

    [Fact]
    public async Task Students_ClassOfAnotherSchool_IsForeignKeyViolation()
    {
        await using var db = await TestDatabase.CreateAsync();
        var schoolA = await db.SchoolAsync();
        var schoolB = await db.SchoolAsync();
        var classOfB = await db.ClassAsync(schoolB, "5А");
        var pupil = await db.MemberAsync(schoolA);

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.EnrolAsync(schoolA, pupil, classOfB));

        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, error.SqlState);
    }

    [Fact]
    public async Task SchoolMembers_DirectorWhoIsNotVerifiedTeacher_IsCheckViolation()
    {
        await using var db = await TestDatabase.CreateAsync();
        var school = await db.SchoolAsync();
        var teacher = await db.AccountAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.Connection.ExecuteAsync(
            "INSERT INTO school_members (school_id, account_id, is_teacher, is_director) VALUES (@school, @teacher, true, true)", new { school, teacher }));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
    }

    [Fact]
    public async Task Classes_SameNameInSameYear_IsUniqueViolationUnlessArchived()
    {
        await using var db = await TestDatabase.CreateAsync();
        var school = await db.SchoolAsync();
        var first = await db.ClassAsync(school, "5А");

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.ClassAsync(school, "5А"));
        Assert.Equal(("23505", "classes_name_per_year"), (error.SqlState, error.ConstraintName));

        // An archived class frees its name for a new one.
        await db.Connection.ExecuteAsync("UPDATE classes SET archived_at = now() WHERE id = @first", new { first });
        Assert.NotEqual(first, await db.ClassAsync(school, "5А"));
    }

    /// <summary>
    /// A block lasts at most a month, counted in UTC as the server counts it, whatever the session's time zone: at a
    /// month's end Moscow's month ended a day earlier, and a block the server allowed failed the insert (a 500). The
    /// table allows an hour more for clocks; the server enforces the month exactly.
    /// </summary>
    [Fact]
    public async Task ChatRestrictions_BlockMonth_CountedInUtc_InAnyTimeZone()
    {
        await using var db = await TestDatabase.CreateAsync();
        var school = await db.SchoolAsync();
        var moderator = await db.MemberAsync(school);
        var pupil = await db.MemberAsync(school);
        var chat = Guid.CreateVersion7();
        var rule = Guid.CreateVersion7();
        await db.Connection.ExecuteAsync("INSERT INTO chats (id, school_id, kind, title) VALUES (@chat, @school, 'group', 'Кружок')", new { chat, school });
        await db.Connection.ExecuteAsync("INSERT INTO school_rules (id, school_id, number, text) VALUES (@rule, @school, 1, 'Уважайте друг друга')", new { rule, school });
        await db.Connection.ExecuteAsync("SET TimeZone = 'Europe/Moscow'");
        const string Insert = """
            INSERT INTO chat_restrictions (id, chat_id, account_id, kind, rule_id, reason, moderator_id, starts_at, ends_at)
            VALUES (gen_random_uuid(), @chat, @pupil, 'block', @rule, 'Оскорбления', @moderator, @startsAt, @endsAt)
            """;
        var startsAt = new DateTime(2026, 3, 30, 22, 30, 0, DateTimeKind.Utc); // 31 March in Moscow
        Assert.Equal(1, await db.Connection.ExecuteAsync(Insert, new { chat, pupil, rule, moderator, startsAt, endsAt = startsAt.AddMonths(1) }));

        var tooLong = await Assert.ThrowsAsync<PostgresException>(() => db.Connection.ExecuteAsync(Insert, new { chat, pupil, rule, moderator, startsAt, endsAt = startsAt.AddMonths(1).AddHours(1).AddMinutes(1) }));
        Assert.Equal(("23514", "chat_restrictions_block_month"), (tooLong.SqlState, tooLong.ConstraintName));
    }
}

/// <summary>A fresh migrated database with an open connection and helpers that insert minimal rows.</summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private TestDatabase(NpgsqlConnection connection) => Connection = connection;

    public NpgsqlConnection Connection { get; }

    public static async Task<TestDatabase> CreateAsync()
    {
        var postgres = await PostgresServer.GetAsync();
        var connection = new NpgsqlConnection(await postgres.CreateMigratedDatabaseAsync());
        await connection.OpenAsync();
        return new TestDatabase(connection);
    }

    public async Task<Guid> AccountAsync()
    {
        var id = Guid.CreateVersion7();
        await Connection.ExecuteAsync("INSERT INTO accounts (id, display_name, phone) VALUES (@id, 'Тест', @phone)", new { id, phone = "+7" + id.ToString("N")[^10..] });
        return id;
    }

    public async Task<Guid> SchoolAsync()
    {
        var id = Guid.CreateVersion7();
        await Connection.ExecuteAsync("INSERT INTO schools (id, name) VALUES (@id, 'Школа')", new { id });
        return id;
    }

    public async Task<Guid> ClassAsync(Guid school, string name)
    {
        var id = Guid.CreateVersion7();
        await Connection.ExecuteAsync(
            "INSERT INTO classes (id, school_id, kind, name, school_year) VALUES (@id, @school, 'class', @name, 2025)", new { id, school, name });
        return id;
    }

    public async Task<Guid> MemberAsync(Guid school, Guid? account = null)
    {
        var id = account ?? await AccountAsync();
        await Connection.ExecuteAsync("INSERT INTO school_members (school_id, account_id) VALUES (@school, @id)", new { school, id });
        return id;
    }

    public Task EnrolAsync(Guid school, Guid account, Guid cls) =>
        Connection.ExecuteAsync("INSERT INTO students (school_id, account_id, class_id) VALUES (@school, @account, @cls)", new { school, account, cls });

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
