CREATE INDEX ON events (meta.created) WITH (type = 'datetime')
