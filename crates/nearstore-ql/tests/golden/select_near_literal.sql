select id, title from docs where vector near [0.1, -0.2, 3e-2, 1] limit 5
