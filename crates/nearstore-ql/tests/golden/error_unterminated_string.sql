SELECT * FROM docs
WHERE title = 'abc
