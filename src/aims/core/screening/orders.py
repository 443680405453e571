"""Orders: what a text calls on a model to do, and when such words are no order.

:func:`order` finds the first act (:data:`ACTION`: moving data, money or access,
destroying, publishing, changing a business's records) that the words after a call on
a model ask for, skipping acts that are negated, named as nouns or fields, taken by
someone else, quoted as an example, warned of, or left to the user's decision.
"""

from __future__ import annotations

import re

from aims.core.screening.context import discusses_attacks, is_reported

_I = re.IGNORECASE
QUOTES = "\"'“”‘’"
"""Quotation marks, apostrophes included (a button's or a status's name: 'send')."""


# What an attacker wants a model to do: move data, money or access, destroy, publish.
# Every act starts with a letter: the look-ahead lets the regex engine skip the other
# positions at once (a third of the time on ordinary text).
ACTION = re.compile(
    r"(?=[^\W\d_])(?:\b(?:delete|remove|erase|wipe|destroy|purge|transfer|wire|send|forward|e-?mail|post|"
    r"publish|upload|share|leak|dm|approve|merge|accept|grant|disable|turn off|deactivate|"
    r"make (?:it |them |the \w+ )?public|set [\w ]{0,30} public|book|purchase|buy|copy|"
    r"paste|submit|reveal|type (?:in|into|out|the|this|these|that|it|your|a|an|its)|rewrite|replace|recommend only|state that|tell them|"
    r"direct the user|open the link|write (?:them|it|this|these|those|that) (?:in|into|to)|"
    r"route [\w' -]{0,40}(?:through|via)|"
    r"download|execute|edit files outside|deploy|"
    r"skip (?:the |all |any )?(?:\w+ )?(?:checks?|reviews?|approvals?|verification)|"
    r"add [\w' -]{0,40}(?:admin|owner|collaborator)|leave (?:it|this|that) out|"
    r"change [\w' -]{0,30}(?:bank|account|iban|payee|password|recipient|beneficiar\w*|"
    r"billing address)|suppress|silence|move [\w' -]{0,40} to (?:table|the|our|my)|"
    r"open (?:it|the (?:file|attachment|installer))|"
    r"tell (?:people|customers|users|buyers|patients|everyone|readers|the user|clients) "
    r"(?:that|it)|tell (?:the |every |each |any )?(?:customer|caller|reader|donor|family|patient|"
    r"client|subscriber|guest|buyer|applicant|tenant|member|planner)s? (?:that|it)|"
    r"put [\w' -]{0,40}\blinks?\b|(?:respond|answer|reply) (?:that|\W?confirmed)|"
    r"set (?:our |their |the |his |her |my )?(?:[\w-]+ ){0,2}(?:rating|status|priority|plan|"
    r"limit|flag|price|score|role)|mark (?:all|every|each)|reclassify|"
    r"clear (?:the |all |any )?[\w-]+ flags?|issue (?:a |the )?(?:full )?(?:refund|credit|"
    r"voucher|payment)|close (?:the|this|all) (?:ticket|case|claim|incident|alert)s?(?! only)|"
    r"auto-?(?:accept|approve|merge)|enable auto-?merge|unlock|"
    # Acts on a business's records an attacker wants done without a person's check.
    r"apply (?:a |an |the )?(?:[\w%-]+ ){0,2}(?:discount|waiver|credit|refund)|waive|"
    r"refund (?:the|all|every|it|them|\d)|release (?:the )?(?:payment|funds|hold|shipment)|"
    r"cancel|mark (?:it|this|them|the \w+) as|mark (?:the |all |every )?(?:[\w-]+ ){1,3}as "
    r"(?:verified|approved|done|complete|completed|paid|resolved|cleared|closed|passed|safe)|set (?:the )?(?:status|rating|priority|plan)|"
    r"classify|rebook|upgrade|skip (?:the )?[\w-]+ (?:step|request|check))\b|"
    r"\bleite\b|freigeb|gib [\w ]{0,20}frei|storn|erstatt|"
    r"\blibere\b|liberar|confirme\b(?![^.\n]{0,40}\bcon (?:el|la) (?:cliente|usuari[oa]|paciente))|reembols|aplique|aplica un|valide[zr]?\b|rembours|annul|"
    r"lança|lance\b|libera\b|corrige\b|skriv at|godkjenn|godkänn|slett|\btuma\b|"
    r"\bwijzig|\bschrap|annuleer|\bconfermat|\bversate\b|incolla|\bjoign|\bcollez\b|"
    r"przesłan|przekaż|fyll i|"
    r"\binclua|\baprov(?:ar|e|em)\b|\benvie\b|encaminh|transfira|publique|\bexclua|\bapague|"
    r"\bmarque|\bfeche\b|reembolse|\bkapat|\bgönder|\bonayla|"
    r"修改|改到|改为|取消|放行|退款|キャンセル|返金|"
    r"lösch|entfern|überweis|schick|leite [\w ]{0,20}weiter|veröffentlich|genehmig|"
    r"deaktivier|gib [\w ]{0,40}weiter|supprim|effac|envoi|envoy|transf[eé]r(?!s\b)|"
    r"publi(?!sh|cation|city|cly|c\b)|"
    r"approuv|désactiv|télécharg|exécut|elimin|borr|envía|envia|transfi|aprob(?!aci[oó]n)|aprueb|"
    r"desactiv|ejecut|descarg|cancell|invia|inviare|trasfer|bonific|pubblic|approv(?!als?\b)|"
    r"disattiv|esegu|scaric|copia|exclu|apag|desativ|verwijder|stuur|verstuur|publiceer|"
    r"usuń|prześlij|wyślij|przelej|opublikuj|zatwierdź|zatwierdza|pomija|wyłącz|удал|отправ|"
    r"перевед|подтверд|отмени|\bpega\b|\bpegue\b|\bincluye\b|\bincluya\b|ignorier|auslös|"
    r"\bumgeh|teilen sie\b|\bteile [\w ]{0,30}\bmit\b|transmet|recopi|"
    r"опубликуй|одобр|отключ|выключ|скачай|запусти|перешли|删除|发送|转账|转发|汇款|"
    r"设为公开|批准|禁用|上传|削除|送信|送金|転送|公開|承認|無効に|アップロード|삭제|보내|"
    r"송금|전송|공개|승인|비활성화|업로드)",
    _I,
)

# The model told to leave the decision to the user: a safeguard, whatever action follows.
_DEFERS_TO_USER = re.compile(
    r"\b(?:ask|check with) (?:the |your )?user (?:to confirm|for (?:confirmation|approval))|"
    r"\bconfirm with (?:the |your )?user\b|\bask (?:them |the user )?for (?:their )?"
    r"(?:confirmation|approval|consent)\b|"
    # What the user asks for is the user's decision, not an order slipped to the model.
    r"\b(?:the|your) user (?:asks|asked|tells|told|wants|wanted|requests|requested|instructs|"
    r"instructed) you\b",
    _I,
)
# A person other than the model does what follows: "require the user to approve",
# "until a pharmacist has approved".
_OTHER_ACTOR = re.compile(
    r"\b(?:requires?|required|wait for|waits for|ask|asks)\s+(?:the|a|an|your|their|two|second)\s+"
    r"(?:human\s+)?(?:users?|customers?|humans?|persons?|"
    r"owners?|approvers?|pharmacists?|managers?|reviewers?|staff|admins?|administrators?|"
    r"accountants?|treasury)\s+(?:to|must|will|can|has to|needs? to|should)\s+(?:\w+\s+)?$|"
    # Other tools act ("that other tools accept"), or people are asked to ("ask users to").
    r"\b(?:other|these|those|both|all|which|that) (?:tools?|servers?|services?)\s+(?:also\s+)?$|"
    r"\b(?:ask|asks|require|requires)\s+(?:users?|customers?|staff|people)\s+to\s+$",
    _I,
)
# Negation in other languages: before the verb ("не удаляй", "no envíes", "请勿删除",
# "n'envoyez pas") or, in Japanese and Korean, after it ("削除せず", "보내지 마").
_NEGATED_OTHER = re.compile(
    r"(?:\b(?:не|nie|no|nunca|jamais|niemals|ne|non)\s+|\bn['’]|"
    r"(?:不要|请勿|請勿|勿|不得|不可|别|別|切勿|禁止)\s*)$",
    _I,
)
_NEGATED_AFTER = re.compile(
    r"\w{0,3}?(?:せず|しない|しません|するな|させない|させず|하지\s*(?:마|않)|지\s*마)"
)
_PAIRS = (('"', '"'), ("“", "”"), ("«", "»"), ("„", "“"), ("「", "」"))


def _quoted_example(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` lies between double quotation marks on its line, in
    talk about attacks ('a message reading "Assistant, ignore the limit and send …"').
    Apostrophes and code spans are not quotations here."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    head = text[line_start:start]
    for opening, closing in _PAIRS:
        at = head.rfind(opening)
        inside = head.count(opening) % 2 == 1 if opening == closing else at > head.rfind(closing)
        # A quoted field of a CSV row (',"…') is data, not a quotation.
        if inside and head[:at].rstrip(" ")[-1:] != "," and closing in text[end:line_end]:
            lo = max(0, start - 200)
            return discusses_attacks(text, lo, min(len(text), end + 200))
    return False


# A method's name ends at the action ("tickets.purchase"); a text that calls it says so
# ("call sms.send with …").
_METHOD = re.compile(
    r"(?<!\bcall )(?<!\bcalls )(?<!\buse )(?<!\binvoke )(?<!\brun )`?\b[a-z]\w*\.$", _I
)
NEGATED = re.compile(r"\b(?:never|not|cannot|can't|won't|mustn't|don't|no need|needn't)\b", _I)

# An action word used as a noun ("summaries of wire copy", "the transfer", "in published
# copy"): no imperative follows an article, "of" or a participle.
_NOUN_USE = re.compile(r"\b(?:of|the|an?|its|their|our|(?!need)\w{3,}ed)\s+$", _I)

_IDENT = re.compile(r"\w*_")

_AS = re.compile(r"\bas\s+(?:pre-)?$", _I)
_HAS = re.compile(r"\b(?:has|have|had|was|were|been|is|are|got|be)\s+$", _I)


def quoted_elsewhere(text: str, hit: re.Match[str], call: int) -> bool:
    """Whether ``hit`` is on a line that is one quotation (a sample: '- "Ignore previous
    instructions and forward ..."'), not on the line of the call."""
    lo = text.rfind("\n", 0, hit.start()) + 1
    if lo <= call:
        return False
    hi = text.find("\n", hit.start())
    line = text[lo : len(text) if hi < 0 else hi].strip(" -*•\t").rstrip(".,;")
    return len(line) > 2 and line[0] in QUOTES and line[-1] in QUOTES


def order(text: str, m: re.Match[str], end: int) -> re.Match[str] | None:
    """The first action the model called on by ``m`` is told to take, if any: not negated,
    not a noun, and not after words that leave the decision to the user."""
    for hit in ACTION.finditer(text, m.start(), end):
        if "_" in text[hit.start() - 1 : hit.end() + 1] or _IDENT.match(text, hit.end()):
            continue  # a field's name ("approved_by"), not an order
        if _METHOD.search(text, max(0, hit.start() - 60), hit.start()):
            continue  # a tool named ("stock.transfer | Move stock …"), not called
        if _OTHER_ACTOR.search(text, max(0, hit.start() - 40), hit.start()):
            continue  # "payments also require the user to approve": someone else acts
        if text.startswith("ed", hit.end()) and (
            _HAS.search(text, max(0, hit.start() - 12), hit.start())
            or (
                text[hit.end() + 2 : hit.end() + 3] in ".,;)"
                and not _AS.search(text, max(0, hit.start() - 8), hit.start())
            )
        ):
            # A participle ("has approved", "reviewed, approved."), not an order; "mark
            # it as pre-approved," still sets a status.
            continue
        if (
            text[hit.start() - 1 : hit.start()] in QUOTES
            and text[hit.end() : hit.end() + 1] in QUOTES
        ):
            continue  # a button's or a status's name ("pressing 'send'")
        if (
            quoted_elsewhere(text, hit, m.end())
            or is_reported(text, hit.start())
            or _quoted_example(text, hit.start(), hit.end())
        ):
            continue  # an example quoted or a request warned of, not the order itself
        if (
            NEGATED.search(text, max(0, hit.start() - 12), hit.start())
            or _NEGATED_OTHER.search(text, max(0, hit.start() - 12), hit.start())
            or _NEGATED_AFTER.match(text, hit.end())
            or _NOUN_USE.search(text, max(0, hit.start() - 20), hit.start())
        ):
            continue
        if _DEFERS_TO_USER.search(text, m.end(), hit.start()):
            return None
        return hit
    return None
