UPSERT INTO docs (id, vector) VALUES (1, [1.0, 2.0])
