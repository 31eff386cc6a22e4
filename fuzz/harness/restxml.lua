-- harness/restxml: the rest-xml reply and error readers (see harness/rest.lua).
return require("rest").harness("fixture-restxml")
