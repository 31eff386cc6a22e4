-- xml_test: luaws.xml on AWS query and EC2 responses, entities, CDATA, UTF-8, errors and guards.
local T = require "testing"
local xml = require "luaws.xml"

-- Children of `element` named `name`, in order.
local function all(element, name)
  local found = {}
  for _, child in ipairs(element) do
    if child.name == name then found[#found + 1] = child end
  end
  return found
end

local function first(element, name) return all(element, name)[1] end

local IAM_LIST_ROLES = [[
<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListRolesResult>
    <IsTruncated>true</IsTruncated>
    <Marker>AAE=</Marker>
    <Roles>
      <member>
        <Path>/aws-service-role/autoscaling.amazonaws.com/</Path>
        <RoleName>AWSServiceRoleForAutoScaling</RoleName>
        <Arn>arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleFor</Arn>
        <AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</AssumeRolePolicyDocument>
      </member>
      <member>
        <Path>/</Path>
        <RoleName>admin</RoleName>
        <Description></Description>
      </member>
    </Roles>
  </ListRolesResult>
  <ResponseMetadata>
    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
  </ResponseMetadata>
</ListRolesResponse>]]

local EC2_DESCRIBE_IMAGES = [[<?xml version="1.0" encoding="UTF-8"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <imagesSet>
        <item>
            <imageId>ami-1234567890abcdef0</imageId>
            <name>golden &amp; shared</name>
            <blockDeviceMapping>
                <item>
                    <deviceName>/dev/xvda</deviceName>
                    <ebs>
                        <snapshotId>snap-1</snapshotId>
                        <encrypted>true</encrypted>
                    </ebs>
                </item>
                <item><deviceName>/dev/sdb</deviceName><virtualName>ephemeral0</virtualName></item>
            </blockDeviceMapping>
            <tagSet>
                <item><key>Name</key><value>日本語のイメージ</value></item>
                <item><key>empty</key><value/></item>
            </tagSet>
        </item>
        <item><imageId>ami-2</imageId></item>
    </imagesSet>
</DescribeImagesResponse>]]

T.test("AWS query response: order, repeated members, namespace attribute", function()
  local root, err = xml.decode(IAM_LIST_ROLES)
  T.eq(err, nil)
  T.eq(root.name, "ListRolesResponse")
  T.same(root.attrs, { xmlns = "https://iam.amazonaws.com/doc/2010-05-08/" })
  T.eq(root.text, nil, "whitespace between children is dropped")
  T.eq(#root, 2)
  local result = root[1]
  T.eq(result.name, "ListRolesResult")
  T.same({ result[1].name, result[2].name, result[3].name }, { "IsTruncated", "Marker", "Roles" })
  T.eq(result[1].text, "true")
  T.eq(result[2].text, "AAE=")
  local members = all(result[3], "member")
  T.eq(#members, 2)
  T.eq(first(members[1], "RoleName").text, "AWSServiceRoleForAutoScaling")
  T.eq(first(members[2], "RoleName").text, "admin")
  T.eq(first(members[2], "Description").text, nil, "an empty element has no text")
  T.eq(first(members[2], "Description").attrs, nil)
  T.eq(first(root[2], "RequestId").text, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE")
end)

T.test("EC2 response: nested repeated items, entities, UTF-8", function()
  local root = assert(xml.decode(EC2_DESCRIBE_IMAGES))
  T.eq(root.name, "DescribeImagesResponse")
  T.eq(root[1].name, "requestId")
  local images = all(root[2], "item")
  T.eq(#images, 2)
  T.eq(first(images[1], "name").text, "golden & shared")
  local mappings = all(first(images[1], "blockDeviceMapping"), "item")
  T.eq(#mappings, 2)
  T.eq(first(first(mappings[1], "ebs"), "snapshotId").text, "snap-1")
  T.eq(first(mappings[2], "virtualName").text, "ephemeral0")
  local tags = all(first(images[1], "tagSet"), "item")
  T.eq(first(tags[1], "value").text, "日本語のイメージ")
  T.eq(first(tags[2], "value").text, nil)
  T.eq(first(images[2], "imageId").text, "ami-2")
end)

T.test("entities, character references and CDATA", function()
  local root = assert(xml.decode(
    [==[<a title="&quot;x&quot; &amp; &lt;y&gt; &#65;&#x42;">]==] ..
    [==[1 &lt; 2 &amp;&amp; &apos;q&apos; &#x65E5;<![CDATA[<raw> & ]]></a>]==]))
  T.eq(root.attrs.title, [["x" & <y> AB]])
  T.eq(root.text, "1 < 2 && 'q' 日<raw> & ")
end)

T.test("mixed content keeps text; leaf whitespace is kept", function()
  local root = assert(xml.decode("<p>Hello <b>big</b> world</p>"))
  T.eq(root.text, "Hello  world")
  T.eq(root[1].text, "big")
  T.eq(assert(xml.decode("<v>  </v>")).text, "  ")
  T.eq(assert(xml.decode("<v>\n  <c/>\n</v>")).text, nil)
end)

T.test("namespace prefixes stay as written; xmlns attributes are kept", function()
  local root = assert(xml.decode(
    [[<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:x">]] ..
    [[<soap:Body a:b="c"/></soap:Envelope>]]))
  T.eq(root.name, "soap:Envelope")
  T.eq(root.attrs["xmlns:soap"], "http://schemas.xmlsoap.org/soap/envelope/")
  T.eq(root.attrs.xmlns, "urn:x")
  T.eq(root[1].name, "soap:Body")
  T.eq(root[1].attrs["a:b"], "c")
end)

T.test("malformed input gives nil and a located message", function()
  local cases = {
    { "<a><b></a>", "^XML parse error at line 1, column 9: mismatched tag$" },
    { "", "^XML parse error at line 1, column 1: no element found$" },
    { "<a>\n<b>\n</b>\n<c x=1/></a>", "^XML parse error at line 4, column 6: not well%-formed" },
    { "<a/><b/>", "^XML parse error at line 1, column 5: junk after document element$" },
    { "<a>&undefined;</a>", "^XML parse error at line 1, column 4: undefined entity$" },
    { "<a>\255</a>", "^XML parse error at line 1, column 4: not well%-formed" },
    { "<a>unclosed", "^XML parse error at line 1, column 12: no element found$" },
  }
  for _, case in ipairs(cases) do
    local root, err = xml.decode(case[1])
    T.eq(root, nil, case[1])
    T.match(err, case[2])
  end
end)

T.test("document type declarations are refused (no entity expansion attacks)", function()
  local bomb = [[<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]] ..
    [[<!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>]]
  local root, err = xml.decode(bomb)
  T.eq(root, nil)
  T.match(err, "^XML parse error at line 1, column %d+: document type declarations are not allowed$")
end)

T.test("depth guard: 200 levels parse, 201 do not", function()
  local function nested(depth) return string.rep("<d>", depth) .. "x" .. string.rep("</d>", depth) end
  local root = assert(xml.decode(nested(200)))
  local node, levels = root, 1
  while node[1] do node, levels = node[1], levels + 1 end
  T.eq(levels, 200)
  T.eq(node.text, "x")
  local none, err = xml.decode(nested(201))
  T.eq(none, nil)
  T.match(err, "^XML parse error at line 1, column 601: nesting deeper than 200 levels$")
end)

T.test("wide documents", function()
  local parts = { "<list>" }
  for i = 1, 20000 do parts[#parts + 1] = "<item>" .. i .. "</item>" end
  parts[#parts + 1] = "</list>"
  local root = assert(xml.decode(table.concat(parts)))
  T.eq(#root, 20000)
  T.eq(root[20000].text, "20000")
end)

T.test("only wrong argument types raise", function()
  T.raises(function() xml.decode(nil) end)
  T.raises(function() xml.decode({}) end)
  T.raises(function() xml.escape(nil) end)
end)

T.test("escape makes text and attribute values safe", function()
  local nasty = [[<tag attr="v">Tom & 'Jerry' </tag> ]] .. "日本"
  T.eq(xml.escape(nasty), "&lt;tag attr=&quot;v&quot;&gt;Tom &amp; &apos;Jerry&apos; &lt;/tag&gt; 日本")
  local root = assert(xml.decode('<a v="' .. xml.escape(nasty) .. '">' .. xml.escape(nasty) .. "</a>"))
  T.eq(root.text, nasty)
  T.eq(root.attrs.v, nasty)
  T.eq(xml.escape(""), "")
end)

T.done()
