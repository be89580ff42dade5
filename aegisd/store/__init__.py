"""State in SQLite through peewee: one database file, one DB thread, numbered migrations."""
