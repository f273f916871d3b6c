namespace HeartTwin.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema as numbered migrations, recorded in <c>schema_version</c> (one row per migration applied). Migrations are
/// only ever appended. The tables, keys and semantics are those of the SQLite schema (Sqlite/Schema.cs): times are UTC ticks
/// (100 ns) in bigint columns so that they round-trip exactly, samples are HTC1 chunks in bytea. Identifier columns use the "C"
/// collation so that ORDER BY sorts byte-wise as SQLite does, whatever the database's locale: both providers answer identically.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>Key of the session advisory lock that serialises migrations across replicas starting at once.</summary>
    public const long MigrationLockKey = 0x4854_5769_6E53_746F; // "HTWinSto"

    public const string CreateVersionTable =
        "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";

    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: the first schema (as SQLite's 1).
        """
        CREATE TABLE patients (
            patient_id    text COLLATE "C" PRIMARY KEY,
            created_ticks bigint NOT NULL);

        CREATE TABLE devices (
            device_id        text COLLATE "C" PRIMARY KEY,
            patient_id       text COLLATE "C" NOT NULL,
            kind             text NOT NULL,
            registered_ticks bigint NOT NULL);
        CREATE INDEX ix_devices_patient ON devices (patient_id);

        -- Lead descriptions (names, gains, baselines as JSON) are the same for every chunk of a device: stored once, referenced by id.
        CREATE TABLE lead_sets (
            lead_set_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            leads       text NOT NULL UNIQUE);

        CREATE TABLE sample_chunks (
            device_id        text COLLATE "C" NOT NULL,
            sequence         bigint NOT NULL,
            patient_id       text COLLATE "C" NOT NULL,
            start_ticks      bigint NOT NULL,
            end_ticks        bigint NOT NULL,
            rate_hz          double precision NOT NULL,
            samples_per_lead integer NOT NULL,
            lead_set_id      bigint NOT NULL REFERENCES lead_sets (lead_set_id),
            codec            text NOT NULL,
            data             bytea NOT NULL,
            received_ticks   bigint NOT NULL,
            PRIMARY KEY (device_id, sequence));
        -- Chunks are already compressed (HTC1); TOAST's pglz would only spend CPU on them.
        ALTER TABLE sample_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE INDEX ix_chunks_patient_end ON sample_chunks (patient_id, end_ticks);
        CREATE INDEX ix_chunks_received ON sample_chunks (received_ticks);

        CREATE TABLE beats (
            device_id      text COLLATE "C" NOT NULL,
            time_ticks     bigint NOT NULL,
            patient_id     text COLLATE "C" NOT NULL,
            rr_ms          double precision NOT NULL,
            lead           text NOT NULL,
            sequence       bigint,
            class          text,
            confidence     double precision,
            model_id       text,
            received_ticks bigint NOT NULL,
            PRIMARY KEY (device_id, time_ticks));
        CREATE INDEX ix_beats_patient_time ON beats (patient_id, time_ticks);
        CREATE INDEX ix_beats_received ON beats (received_ticks);

        CREATE TABLE windows (
            device_id       text COLLATE "C" NOT NULL,
            window_sequence bigint NOT NULL,
            patient_id      text COLLATE "C" NOT NULL,
            start_ticks     bigint NOT NULL,
            end_ticks       bigint NOT NULL,
            received_ticks  bigint NOT NULL,
            payload         text NOT NULL,
            PRIMARY KEY (device_id, window_sequence));
        CREATE INDEX ix_windows_patient_start ON windows (patient_id, start_ticks);
        CREATE INDEX ix_windows_received ON windows (received_ticks);

        CREATE TABLE vitals (
            device_id      text COLLATE "C" NOT NULL,
            sequence       bigint NOT NULL,
            idx            integer NOT NULL,
            patient_id     text COLLATE "C" NOT NULL,
            code           text NOT NULL,
            value          double precision NOT NULL,
            unit           text NOT NULL,
            time_ticks     bigint NOT NULL,
            received_ticks bigint NOT NULL,
            PRIMARY KEY (device_id, sequence, idx));
        CREATE INDEX ix_vitals_patient_time ON vitals (patient_id, time_ticks);
        CREATE INDEX ix_vitals_received ON vitals (received_ticks);

        CREATE TABLE gaps (
            device_id         text COLLATE "C" NOT NULL,
            expected_sequence bigint NOT NULL,
            patient_id        text COLLATE "C" NOT NULL,
            received_sequence bigint NOT NULL,
            detected_ticks    bigint NOT NULL,
            PRIMARY KEY (device_id, expected_sequence));
        CREATE INDEX ix_gaps_detected ON gaps (detected_ticks);
        CREATE INDEX ix_gaps_patient ON gaps (patient_id);

        CREATE TABLE actions (
            action_id      text COLLATE "C" PRIMARY KEY,
            patient_id     text COLLATE "C" NOT NULL,
            occurred_ticks bigint NOT NULL,
            proposal       text NOT NULL,
            decision       text);
        CREATE INDEX ix_actions_patient_occurred ON actions (patient_id, occurred_ticks);

        CREATE TABLE commands (
            command_id    text COLLATE "C" PRIMARY KEY,
            action_id     text COLLATE "C" NOT NULL,
            patient_id    text COLLATE "C" NOT NULL,
            updated_ticks bigint NOT NULL,
            attempts      integer NOT NULL,
            status        text NOT NULL);
        CREATE INDEX ix_commands_action ON commands (action_id, updated_ticks);
        CREATE INDEX ix_commands_patient ON commands (patient_id);

        CREATE TABLE twin_states (
            patient_id    text COLLATE "C" PRIMARY KEY,
            updated_ticks bigint NOT NULL,
            state         text NOT NULL);

        CREATE TABLE audit (
            sequence        bigint PRIMARY KEY,
            time_ticks      bigint NOT NULL,
            category        text NOT NULL,
            actor           text NOT NULL,
            patient_id      text COLLATE "C" NOT NULL,
            subject         text NOT NULL,
            allowed         boolean NOT NULL,
            rule            text NOT NULL,
            reason          text NOT NULL,
            policy_version  text NOT NULL,
            previous_hash   text NOT NULL,
            hash            text NOT NULL UNIQUE);
        CREATE INDEX ix_audit_patient ON audit (patient_id, sequence);
        -- Append-only (21 CFR 11.10(e) in spirit): the database itself refuses to change or remove an entry, TRUNCATE included.
        CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only: entries cannot be %', lower(TG_OP) || 'd'
                USING ERRCODE = 'restrict_violation';
        END $$;
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
        CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
        """,
    ];
}
