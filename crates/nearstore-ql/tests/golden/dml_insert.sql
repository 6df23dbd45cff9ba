INSERT INTO docs (id, vector, title, tags, meta) VALUES (1, [0.1, 0.2], 'Hello', ['a', 'b'], '{"k": 1}'), (2, $v, NULL, [], 'x')
