UPDATE docs SET title = 'New', meta.views = views + 1 WHERE id = 1
