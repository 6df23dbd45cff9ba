SELECT * FROM t ORDER BY a + b * c - d / e, (a + b) * c, a - (b - c), a - b - c, -x * 2, -(a + b), 2 * -3
