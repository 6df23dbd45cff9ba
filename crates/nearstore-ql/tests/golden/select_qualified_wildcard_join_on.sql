SELECT d.*, a.name FROM docs d INNER JOIN authors AS a ON d.author_id = a.id WHERE a.country = 'FR'
