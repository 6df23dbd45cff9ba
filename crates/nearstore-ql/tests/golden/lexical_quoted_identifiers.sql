SELECT `select`, "my col", "a""b" AS "order" FROM `weird table` AS `from` WHERE "where".x = 1
