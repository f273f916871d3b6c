namespace HeartTwin.Storage.Sqlite;

/// <summary>
/// The database schema as numbered migrations (<c>PRAGMA user_version</c> holds the last one applied). Migrations are only
/// ever appended. Times are UTC ticks (100 ns) in INTEGER columns, so that they round-trip exactly and sort as numbers.
/// </summary>
internal static class Schema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: the first schema.
        """
        CREATE TABLE patients (
            patient_id    TEXT PRIMARY KEY,
            created_ticks INTEGER NOT NULL);

        CREATE TABLE devices (
            device_id        TEXT PRIMARY KEY,
            patient_id       TEXT NOT NULL,
            kind             TEXT NOT NULL,
            registered_ticks INTEGER NOT NULL);
        CREATE INDEX ix_devices_patient ON devices (patient_id);

        -- Lead descriptions (names, gains, baselines as JSON) are the same for every chunk of a device: stored once, referenced by id.
        CREATE TABLE lead_sets (
            lead_set_id INTEGER PRIMARY KEY,
            leads       TEXT NOT NULL UNIQUE);

        CREATE TABLE sample_chunks (
            device_id        TEXT    NOT NULL,
            sequence         INTEGER NOT NULL,
            patient_id       TEXT    NOT NULL,
            start_ticks      INTEGER NOT NULL,
            end_ticks        INTEGER NOT NULL,
            rate_hz          REAL    NOT NULL,
            samples_per_lead INTEGER NOT NULL,
            lead_set_id      INTEGER NOT NULL REFERENCES lead_sets (lead_set_id),
            codec            TEXT    NOT NULL,
            data             BLOB    NOT NULL,
            received_ticks   INTEGER NOT NULL,
            PRIMARY KEY (device_id, sequence));
        CREATE INDEX ix_chunks_patient_end ON sample_chunks (patient_id, end_ticks);
        CREATE INDEX ix_chunks_received ON sample_chunks (received_ticks);

        CREATE TABLE beats (
            device_id      TEXT    NOT NULL,
            time_ticks     INTEGER NOT NULL,
            patient_id     TEXT    NOT NULL,
            rr_ms          REAL    NOT NULL,
            lead           TEXT    NOT NULL,
            sequence       INTEGER,
            class          TEXT,
            confidence     REAL,
            model_id       TEXT,
            received_ticks INTEGER NOT NULL,
            PRIMARY KEY (device_id, time_ticks));
        CREATE INDEX ix_beats_patient_time ON beats (patient_id, time_ticks);
        CREATE INDEX ix_beats_received ON beats (received_ticks);

        CREATE TABLE windows (
            device_id       TEXT    NOT NULL,
            window_sequence INTEGER NOT NULL,
            patient_id      TEXT    NOT NULL,
            start_ticks     INTEGER NOT NULL,
            end_ticks       INTEGER NOT NULL,
            received_ticks  INTEGER NOT NULL,
            payload         TEXT    NOT NULL,
            PRIMARY KEY (device_id, window_sequence));
        CREATE INDEX ix_windows_patient_start ON windows (patient_id, start_ticks);
        CREATE INDEX ix_windows_received ON windows (received_ticks);

        CREATE TABLE vitals (
            device_id      TEXT    NOT NULL,
            sequence       INTEGER NOT NULL,
            idx            INTEGER NOT NULL,
            patient_id     TEXT    NOT NULL,
            code           TEXT    NOT NULL,
            value          REAL    NOT NULL,
            unit           TEXT    NOT NULL,
            time_ticks     INTEGER NOT NULL,
            received_ticks INTEGER NOT NULL,
            PRIMARY KEY (device_id, sequence, idx));
        CREATE INDEX ix_vitals_patient_time ON vitals (patient_id, time_ticks);
        CREATE INDEX ix_vitals_received ON vitals (received_ticks);

        CREATE TABLE gaps (
            device_id         TEXT    NOT NULL,
            expected_sequence INTEGER NOT NULL,
            patient_id        TEXT    NOT NULL,
            received_sequence INTEGER NOT NULL,
            detected_ticks    INTEGER NOT NULL,
            PRIMARY KEY (device_id, expected_sequence));
        CREATE INDEX ix_gaps_detected ON gaps (detected_ticks);

        CREATE TABLE actions (
            action_id      TEXT PRIMARY KEY,
            patient_id     TEXT    NOT NULL,
            occurred_ticks INTEGER NOT NULL,
            proposal       TEXT    NOT NULL,
            decision       TEXT);
        CREATE INDEX ix_actions_patient_occurred ON actions (patient_id, occurred_ticks);

        CREATE TABLE commands (
            command_id    TEXT PRIMARY KEY,
            action_id     TEXT    NOT NULL,
            patient_id    TEXT    NOT NULL,
            updated_ticks INTEGER NOT NULL,
            attempts      INTEGER NOT NULL,
            status        TEXT    NOT NULL);
        CREATE INDEX ix_commands_action ON commands (action_id, updated_ticks);
        CREATE INDEX ix_commands_patient ON commands (patient_id);

        CREATE TABLE twin_states (
            patient_id    TEXT PRIMARY KEY,
            updated_ticks INTEGER NOT NULL,
            state         TEXT    NOT NULL);

        CREATE TABLE audit (
            sequence        INTEGER PRIMARY KEY,
            time_ticks      INTEGER NOT NULL,
            category        TEXT    NOT NULL,
            actor           TEXT    NOT NULL,
            patient_id      TEXT    NOT NULL,
            subject         TEXT    NOT NULL,
            allowed         INTEGER NOT NULL,
            rule            TEXT    NOT NULL,
            reason          TEXT    NOT NULL,
            policy_version  TEXT    NOT NULL,
            previous_hash   TEXT    NOT NULL,
            hash            TEXT    NOT NULL UNIQUE);
        CREATE INDEX ix_audit_patient ON audit (patient_id, sequence);
        -- Append-only (21 CFR 11.10(e) in spirit): the database itself refuses to change or remove an entry.
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be updated'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be deleted'); END;
        """,
    ];
}
