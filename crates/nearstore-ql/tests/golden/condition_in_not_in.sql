SELECT * FROM t WHERE lang IN ('en', 'fr') AND id NOT IN (1, 2, 3) AND tag IN ($tags)
