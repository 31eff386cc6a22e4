-- luacheck configuration: Lua 5.4, 120 columns; `aws` is the preloaded library in scripts and recipes.
std = "lua54"
max_line_length = 120
files["recipes"] = { read_globals = { "aws" } }
files["examples"] = { read_globals = { "aws" } }
files["tests"] = { read_globals = { "aws" } }
files["bench"] = { read_globals = { "aws" } }
