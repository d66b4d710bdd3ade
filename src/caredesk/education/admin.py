# Patient education is kept through its pages (audited); nothing is registered in the admin.
