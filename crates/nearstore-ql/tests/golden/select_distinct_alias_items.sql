SELECT DISTINCT d.title AS t, d.meta.author name, similarity() AS score FROM docs AS d
