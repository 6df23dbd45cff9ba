INSERT INTO docs (id, vector) VALUES (1, [0.5]), (2)
