/**
 * The instruction patterns in the languages attackers write injections in besides English: Chinese (simplified
 * and traditional), Spanish, German, French, Japanese, Portuguese, Russian, Korean and Italian. Latin-script
 * patterns are written without diacritics and in lower case: they match the folded view of a field (see
 * `normalize.ts`), where `ignorá las instrucciones` reads `ignora las instrucciones`. Cyrillic and CJK patterns
 * match the text as served (the folded view keeps them; `й` and `ё` fold to `и` and `е`, hence the classes).
 * Same construction rule as `patterns.ts`: bounded gaps, no quantified group. Weights mirror the English
 * signals: override and concealment 3, addressing the model and smuggling data out 2, reading a file 1.
 */
import type { Signal, TextPattern } from './text-pattern.ts';

export const LANGUAGES = ['zh', 'es', 'de', 'fr', 'ja', 'pt', 'ru', 'ko', 'it'] as const;
export type Language = (typeof LANGUAGES)[number];

export interface MultilingualPattern extends TextPattern {
  language: Language;
}

const m = (language: Language, id: string, signal: Signal, weight: number, regex: RegExp): MultilingualPattern => ({
  id: `${language}-${id}`,
  language,
  signal,
  weight,
  regex,
});

export const MULTILINGUAL_PATTERNS: readonly MultilingualPattern[] = [
  // Chinese
  m(
    'zh',
    'ignore-instructions',
    'override',
    3,
    /(?:忽略|无视|無視|忘记|忘記|不要理会|不要理會|不理会)[^。\n]{0,8}(?:之前|以前|先前|上面|上述|前面|所有|系统|系統)[^。\n]{0,8}(?:指令|指示|说明|說明|规则|規則|提示词|提示詞)/,
  ),
  m(
    'zh',
    'do-not-tell-user',
    'concealment',
    3,
    /(?:不要|别|別|切勿|请勿|請勿|不得|不可)[^。\n]{0,6}(?:告诉|告訴|通知|提醒|透露|提及|让|讓)[^。\n]{0,4}(?:用户|用戶|使用者)|(?:瞒着|瞞著)(?:用户|用戶|使用者)|(?:用户|用戶|使用者)[^。\n]{0,4}(?:不能|不应|不應|不得|不可以)[^。\n]{0,4}(?:知道|看到|发现|發現)/,
  ),
  m(
    'zh',
    'note-to-model',
    'model-address',
    2,
    /(?:给|給|致)[^。\n]{0,4}(?:ai|人工智能|助手|模型|智能体|智能體)[^。\n]{0,3}(?:的)?(?:说明|說明|备注|備註|消息|訊息|指示)|(?:助手|模型|ai)\s{0,2}(?:必须|必須|务必|務必)/,
  ),
  m(
    'zh',
    'pass-content',
    'exfiltration',
    2,
    /(?:发送|發送|传递|傳遞|传入|傳入|填入|放入|附加到|作为|作為)[^。\n]{0,20}(?:内容|內容|对话|對話|聊天记录|聊天記錄|凭据|憑據|密钥|金鑰|密码|密碼)|(?:内容|內容|对话|對話|聊天记录|聊天記錄|凭据|憑據|密钥|金鑰)[^。\n]{0,12}(?:作为|作為)[^。\n]{0,8}(?:参数|參數)/,
  ),
  m('zh', 'read-file', 'file-read', 1, /(?:读取|讀取|打开|打開)[^。\n]{0,10}(?:文件|檔案)/),
  m(
    'zh',
    'retry-with-secret',
    'exfiltration',
    2,
    /(?:再次|重新)(?:调用|調用|运行|運行|执行|執行)[^。\n]{0,30}(?:内容|內容|凭据|憑據|密钥|金鑰|密码|密碼|令牌)/,
  ),

  // Spanish
  m(
    'es',
    'ignore-instructions',
    'override',
    3,
    /\b(?:ignora|ignore|ignorar|olvida|olvide|descarta|descarte|omite)\s{1,4}(?:todas\s{1,4}|todos\s{1,4})?(?:las\s{1,4}|los\s{1,4}|tus\s{1,4}|sus\s{1,4})?(?:instrucciones|indicaciones|reglas|ordenes)\s{1,4}(?:anteriores|previas|del sistema|de arriba)/i,
  ),
  m(
    'es',
    'do-not-tell-user',
    'concealment',
    3,
    /\bno\s{1,4}(?:le\s{1,4}|se\s{1,4}lo\s{1,4}|lo\s{1,4})?(?:digas|diga|menciones|mencione|informes|informe|avises|avise|muestres|muestre|reveles|revele|comentes|comente)\b[^.\n]{0,40}\busuario|\bsin\s{1,4}(?:decirle|decir|informar|avisar|notificar)(?:le)?\s{1,4}(?:nada\s{1,4})?al\s{1,4}usuario|\bel\s{1,4}usuario\s{1,4}no\s{1,4}(?:debe|puede|tiene que)\s{1,4}(?:saber|ver|enterarse)/i,
  ),
  m(
    'es',
    'note-to-model',
    'model-address',
    2,
    /\b(?:nota|mensaje|aviso)\s{1,4}para\s{1,4}(?:el\s{1,4}|la\s{1,4}|cualquier\s{1,4})?(?:ia|asistente|modelo|agente)\b|\bel\s{1,4}(?:asistente|modelo|agente)\s{1,4}debe\b/i,
  ),
  m(
    'es',
    'pass-content',
    'exfiltration',
    2,
    /\b(?:envia|envie|pasa|pase|incluye|incluya|pon|ponga|adjunta|adjunte|copia|copie)\b[^.\n]{0,40}\b(?:contenido|conversacion|historial|credenciales|claves?|contrasenas?)\b[^.\n]{0,40}\b(?:como|en|al|a)\b/i,
  ),
  m('es', 'read-file', 'file-read', 1, /\b(?:lee|lea|abre|abra)\s{1,4}(?:el\s{1,4})?(?:archivo|fichero)/i),
  m(
    'es',
    'retry-with-secret',
    'exfiltration',
    2,
    /\b(?:vuelve|vuelva)\s{1,4}a\s{1,4}(?:llamar|ejecutar|invocar|intentar|usar)\b[^.\n]{0,60}\bcon\s{1,4}(?:el\s{1,4}|la\s{1,4}|las\s{1,4}|los\s{1,4}|tu\s{1,4}|su\s{1,4}|tus\s{1,4}|sus\s{1,4})?(?:contenido|credenciales|claves?|contrasenas?|tokens?)\b|\b(?:llama|llame|reintenta|reintente|repite|repita|ejecuta|ejecute)\b[^.\n]{0,40}\b(?:de nuevo|otra vez|nuevamente)\b[^.\n]{0,40}\bcon\s{1,4}(?:el\s{1,4}|la\s{1,4}|las\s{1,4}|los\s{1,4}|tu\s{1,4}|su\s{1,4})?(?:contenido|credenciales|claves?|contrasenas?|tokens?)\b/i,
  ),

  // German (folded: umlauts lose their dots, ß stays)
  m(
    'de',
    'ignore-instructions',
    'override',
    3,
    /\b(?:ignoriere|ignoriert|ignorieren sie|vergiss|vergesst|vergessen sie|missachte|missachten sie)\s{1,4}(?:alle\s{1,4})?(?:die\s{1,4}|deine\s{1,4}|ihre\s{1,4})?(?:vorherigen|vorhergehenden|bisherigen|obigen|fruheren|vorigen|system)\s{0,4}(?:anweisungen|instruktionen|regeln|befehle|vorgaben)/i,
  ),
  m(
    'de',
    'do-not-tell-user',
    'concealment',
    3,
    /\b(?:sag|sage|sagen sie|erzahl|erzahle|erwahne|erwahnen sie|verrate|verraten sie|zeige|zeigen sie|informiere|informieren sie)\b[^.\n]{0,30}\b(?:dem|den)\s{1,4}(?:benutzer|nutzer|anwender)\b[^.\n]{0,20}\bnichts?\b|\bohne\s{1,4}(?:den|dem)\s{1,4}(?:benutzer|nutzer|anwender)\s{1,4}(?:davon\s{1,4})?(?:zu\s{1,4})?(?:informieren|fragen|benachrichtigen|warnen)|\b(?:benutzer|nutzer|anwender)\s{1,4}(?:darf|soll|muss)\s{1,4}(?:das\s{1,4}|es\s{1,4}|davon\s{1,4})?nichts?\s{1,4}(?:davon\s{1,4})?(?:wissen|sehen|erfahren|bemerken)/i,
  ),
  m(
    'de',
    'note-to-model',
    'model-address',
    2,
    /\b(?:hinweis|nachricht|notiz)\s{1,4}(?:an|fur)\s{1,4}(?:die|den|das|jede[ns]?)\s{1,4}(?:ki|assistenten|modell|agenten|sprachmodell)\b|\bder\s{1,4}(?:assistent|agent)\s{1,4}(?:muss|soll)\b|\bdas\s{1,4}(?:modell|sprachmodell)\s{1,4}(?:muss|soll)\b/i,
  ),
  m(
    'de',
    'pass-content',
    'exfiltration',
    2,
    /\b(?:sende|schicke|ubergib|ubergebe|fuge|fugen sie|setze|setzen sie|kopiere)\b[^.\n]{0,40}\b(?:inhalt|gesprachsverlauf|verlauf|zugangsdaten|passwort|schlussel)\b[^.\n]{0,40}\b(?:als|in|an|im)\b/i,
  ),
  m('de', 'read-file', 'file-read', 1, /\b(?:lies|lese|lesen sie|offne|offnen sie)\b[^.\n]{0,20}\bdatei/i),
  m(
    'de',
    'retry-with-secret',
    'exfiltration',
    2,
    /\b(?:rufe|rufen sie|starte|starten sie|versuche|versuchen sie|wiederhole|wiederholen sie)\b[^.\n]{0,40}\b(?:erneut|nochmal|noch einmal|wieder)\b[^.\n]{0,40}\bmit\s{1,4}(?:dem\s{1,4}|den\s{1,4}|der\s{1,4}|deinem\s{1,4}|deinen\s{1,4}|ihrem\s{1,4}|ihren\s{1,4})?(?:inhalt|zugangsdaten|schlussel|passwort|token)/i,
  ),

  // French
  m(
    'fr',
    'ignore-instructions',
    'override',
    3,
    /\b(?:ignore|ignorez|oublie|oubliez|ne tiens pas compte des|ne tenez pas compte des)\s{1,4}(?:toutes\s{1,4}|tous\s{1,4})?(?:les\s{1,4}|tes\s{1,4}|vos\s{1,4})?(?:instructions|consignes|regles|directives)\s{1,4}(?:precedentes|anterieures|ci-dessus|du systeme)/i,
  ),
  m(
    'fr',
    'do-not-tell-user',
    'concealment',
    3,
    /\bne\s{1,4}(?:le\s{1,4}|lui\s{1,4}|leur\s{1,4}|en\s{1,4})?(?:dis|dites|mentionne|mentionnez|informe|informez|montre|montrez|revele|revelez|signale|signalez|parle|parlez)\s{1,4}(?:rien|pas|jamais)\b[^.\n]{0,40}\butilisat(?:eur|rice)|\bsans\s{1,4}(?:le\s{1,4}dire\s{1,4}a|en\s{1,4}informer|informer|prevenir|avertir|demander\s{1,4}a)\s{1,4}l.{0,1}utilisat(?:eur|rice)|\butilisat(?:eur|rice)\s{1,4}ne\s{1,4}doit\s{1,4}(?:pas|jamais)\s{1,4}(?:savoir|voir|remarquer)/i,
  ),
  m(
    'fr',
    'note-to-model',
    'model-address',
    2,
    /\b(?:note|message|remarque)\s{1,4}(?:a|pour)\s{1,4}(?:l.{0,1}|le\s{1,4}|tout\s{1,4})?(?:ia|assistant|modele|agent)\b|\bl.{0,1}(?:assistant|agent|ia)\s{1,4}doit\b|\ble\s{1,4}modele\s{1,4}doit\b/i,
  ),
  m(
    'fr',
    'pass-content',
    'exfiltration',
    2,
    /\b(?:envoie|envoyez|transmets|transmettez|inclus|incluez|mets|mettez|ajoute|ajoutez|passe|passez|copie|copiez)\b[^.\n]{0,40}\b(?:contenu|conversation|historique|identifiants|mot de passe|cles?)\b[^.\n]{0,40}\b(?:comme|dans|en|a)\b/i,
  ),
  m('fr', 'read-file', 'file-read', 1, /\b(?:lis|lisez|ouvre|ouvrez)\s{1,4}(?:le\s{1,4})?fichier/i),
  m(
    'fr',
    'retry-with-secret',
    'exfiltration',
    2,
    /\b(?:rappelle|rappelez|relance|relancez|reessaie|reessayez|appelle|appelez)\b[^.\n]{0,60}\bavec\s{1,4}(?:le\s{1,4}|la\s{1,4}|les\s{1,4}|ton\s{1,4}|votre\s{1,4}|vos\s{1,4}|tes\s{1,4})?(?:contenu|identifiants|cles?|mot de passe|jetons?)\b/i,
  ),

  // Japanese
  m(
    'ja',
    'ignore-instructions',
    'override',
    3,
    /(?:以前|前|上記|これまで|すべて|全て|システム)[^。\n]{0,6}(?:指示|命令|ルール|指令|プロンプト)[^。\n]{0,6}(?:無視|忘れ)/,
  ),
  m(
    'ja',
    'do-not-tell-user',
    'concealment',
    3,
    /(?:ユーザー|ユーザ|利用者)[^。\n]{0,10}(?:伝えない|言わない|知らせない|教えない|見せない|通知しない|伝えず|知らせず|言わず|伝えないで|知らせないで)|(?:ユーザー|ユーザ|利用者)に(?:は)?(?:内緒|秘密)/,
  ),
  m(
    'ja',
    'note-to-model',
    'model-address',
    2,
    /(?:ai|アシスタント|モデル|エージェント)(?:へ|に)の(?:メモ|メッセージ|注意|指示)|(?:アシスタント|モデル|ai)は[^。\n]{0,10}(?:必ず|しなければならない|なければなりません)/,
  ),
  m(
    'ja',
    'pass-content',
    'exfiltration',
    2,
    /(?:内容|会話|履歴|認証情報|秘密鍵|パスワード)[^。\n]{0,20}(?:送信|渡して|渡す|添付|入れて|として)/,
  ),
  m('ja', 'read-file', 'file-read', 1, /ファイル[^。\n]{0,10}(?:読み|読んで|開い|開き)/),
  m(
    'ja',
    'retry-with-secret',
    'exfiltration',
    2,
    /(?:再度|もう一度|再び)[^。\n]{0,10}(?:呼び出|実行|試)[^。\n]{0,30}(?:内容|認証情報|秘密鍵|パスワード|トークン)|(?:内容|認証情報|秘密鍵|パスワード|トークン)[^。\n]{0,30}(?:再度|もう一度|再び)[^。\n]{0,10}(?:呼び出|実行)/,
  ),

  // Portuguese
  m(
    'pt',
    'ignore-instructions',
    'override',
    3,
    /\b(?:ignore|ignora|ignorar|esqueca|esquece|desconsidere|desconsidera)\s{1,4}(?:todas\s{1,4})?(?:as\s{1,4}|suas\s{1,4})?(?:instrucoes|orientacoes|regras)\s{1,4}(?:anteriores|previas|do sistema|acima)/i,
  ),
  m(
    'pt',
    'do-not-tell-user',
    'concealment',
    3,
    /\bnao\s{1,4}(?:conte|diga|mencione|informe|avise|mostre|revele|fale)\b[^.\n]{0,40}\b(?:usuario|utilizador)|\bsem\s{1,4}(?:avisar|informar|contar|dizer|notificar)\s{1,4}(?:ao|o|a)\s{1,4}(?:usuario|utilizador)|\bo\s{1,4}(?:usuario|utilizador)\s{1,4}nao\s{1,4}(?:deve|pode)\s{1,4}(?:saber|ver|perceber)/i,
  ),
  m(
    'pt',
    'note-to-model',
    'model-address',
    2,
    /\b(?:nota|mensagem|aviso)\s{1,4}para\s{1,4}(?:a\s{1,4}|o\s{1,4}|qualquer\s{1,4})?(?:ia|assistente|modelo|agente)\b|\bo\s{1,4}(?:assistente|modelo|agente)\s{1,4}deve\b/i,
  ),
  m(
    'pt',
    'pass-content',
    'exfiltration',
    2,
    /\b(?:envie|envia|passe|passa|inclua|coloque|anexe|copie)\b[^.\n]{0,40}\b(?:conteudo|conversa|historico|credenciais|chaves?|senhas?)\b[^.\n]{0,40}\b(?:como|no|na|em)\b/i,
  ),
  m('pt', 'read-file', 'file-read', 1, /\b(?:leia|le|abra)\s{1,4}(?:o\s{1,4})?(?:arquivo|ficheiro)/i),
  m(
    'pt',
    'retry-with-secret',
    'exfiltration',
    2,
    /\b(?:chame|chama|execute|executa|tente|repita|invoque)\b[^.\n]{0,40}\b(?:novamente|de novo|outra vez)\b[^.\n]{0,40}\bcom\s{1,4}(?:o\s{1,4}|a\s{1,4}|os\s{1,4}|as\s{1,4}|seu\s{1,4}|sua\s{1,4}|seus\s{1,4}|suas\s{1,4})?(?:conteudo|credenciais|chaves?|senhas?|tokens?)\b/i,
  ),

  // Russian
  m(
    'ru',
    'ignore-instructions',
    'override',
    3,
    /(?:игнорир[уи][йи]т?е?|проигнорир[уи][йи]т?е?|забудь(?:те)?|не\s{1,4}обращай(?:те)?\s{1,4}внимания\s{1,4}на)\s{1,4}(?:все\s{1,4})?(?:предыдущие|прежние|предшествующие|системные|вышеуказанные|ранее\s{1,4}данные)\s{1,4}(?:инструкции|указания|правила|команды)/i,
  ),
  m(
    'ru',
    'do-not-tell-user',
    'concealment',
    3,
    /не\s{1,4}(?:говори|сообщай|рассказывай|показывай|упоминай|говорите|сообщайте|рассказывайте|упоминайте)[^.\n]{0,40}пользовател|без\s{1,4}(?:ведома|уведомления)\s{1,4}пользовател|пользователь\s{1,4}не\s{1,4}должен\s{1,4}(?:знать|видеть|узнать|заметить)/i,
  ),
  m(
    'ru',
    'note-to-model',
    'model-address',
    2,
    /(?:примечание|заметка|сообщение)\s{1,4}для\s{1,4}(?:ии|ассистента|модели|агента|любого\s{1,4}ии)|(?:ассистент|агент)\s{1,4}(?:должен|обязан)\s{1,4}(?:сначала|всегда|немедленно|сейчас)/i,
  ),
  m(
    'ru',
    'pass-content',
    'exfiltration',
    2,
    /(?:отправь|отправьте|передай|передайте|вставь|вставьте|добавь|добавьте|включи|включите|скопируй)[^.\n]{0,40}(?:содержимое|переписку|историю|уч[её]тные\s{1,4}данные|ключ|пароль)/i,
  ),
  m('ru', 'read-file', 'file-read', 1, /(?:прочитай|прочитайте|прочти|открой|откройте)[^.\n]{0,20}файл/i),
  m(
    'ru',
    'retry-with-secret',
    'exfiltration',
    2,
    /(?:вызови|вызовите|повтори|повторите|запусти|запустите)[^.\n]{0,60}\sс\s{1,4}(?:содержимым|уч[её]тными\s{1,4}данными|ключом|паролем|токеном)/i,
  ),

  // Korean
  m(
    'ko',
    'ignore-instructions',
    'override',
    3,
    /(?:이전|이전의|위의|앞의|모든|시스템)[^.\n]{0,10}(?:지시|지침|명령|규칙|프롬프트)[^.\n]{0,6}(?:무시|잊어)/,
  ),
  m(
    'ko',
    'do-not-tell-user',
    'concealment',
    3,
    /(?:사용자|유저)(?:에게|한테|께)[^.\n]{0,12}(?:알리지|말하지|보여주지|언급하지|통지하지|공개하지)\s{0,2}(?:마|말|않)|(?:사용자|유저)\s{0,2}몰래|(?:사용자|유저)(?:가|는)[^.\n]{0,8}(?:몰라야|모르게)/,
  ),
  m(
    'ko',
    'note-to-model',
    'model-address',
    2,
    /(?:ai|어시스턴트|모델|에이전트|인공지능)(?:에게|를 위한)\s{0,2}(?:메모|메시지|참고|지시)|(?:어시스턴트|모델|에이전트)(?:는|은)\s{0,2}반드시/,
  ),
  m(
    'ko',
    'pass-content',
    'exfiltration',
    2,
    /(?:내용|대화|기록|자격 증명|비밀번호|비밀 키|개인 키)[^.\n]{0,20}(?:전송|보내|첨부|넣어)/,
  ),
  m('ko', 'read-file', 'file-read', 1, /파일[^.\n]{0,10}(?:읽|열어)/),
  m(
    'ko',
    'retry-with-secret',
    'exfiltration',
    2,
    /(?:다시|재)\s{0,2}(?:호출|실행|시도)[^.\n]{0,30}(?:내용|자격 증명|비밀번호|토큰)|(?:내용|자격 증명|비밀번호|토큰)[^.\n]{0,30}(?:다시|재)\s{0,2}(?:호출|실행|시도)/,
  ),

  // Italian
  m(
    'it',
    'ignore-instructions',
    'override',
    3,
    /\b(?:ignora|ignori|ignorare|ignorate|dimentica|dimentichi|dimenticate|trascura)\s{1,4}(?:tutte\s{1,4})?(?:le\s{1,4}|tue\s{1,4}|sue\s{1,4})?(?:istruzioni|indicazioni|regole)\s{1,4}(?:precedenti|di sistema|del sistema|sopra|ricevute)/i,
  ),
  m(
    'it',
    'do-not-tell-user',
    'concealment',
    3,
    /\bnon\s{1,4}(?:dire|dirlo|dirgli|menzionare|informare|avvisare|mostrare|rivelare|comunicare)\b[^.\n]{0,40}\butente|\bsenza\s{1,4}(?:dirlo|informare|avvisare|dire\s{1,4}nulla)\s{1,4}(?:a\s{1,4}|al\s{1,4}|l.{0,1})?utente|\bl.{0,1}utente\s{1,4}non\s{1,4}deve\s{1,4}(?:sapere|vedere|accorgersi)/i,
  ),
  m(
    'it',
    'note-to-model',
    'model-address',
    2,
    /\b(?:nota|messaggio|avviso)\s{1,4}per\s{1,4}(?:l.{0,1}|il\s{1,4}|qualsiasi\s{1,4})?(?:ia|assistente|modello|agente)\b|\bl.{0,1}(?:assistente|agente)\s{1,4}deve\b|\bil\s{1,4}modello\s{1,4}deve\b/i,
  ),
  m(
    'it',
    'pass-content',
    'exfiltration',
    2,
    /\b(?:invia|inviare|passa|passare|includi|inserisci|allega|metti|copia)\b[^.\n]{0,40}\b(?:contenuto|conversazione|cronologia|credenziali|chiavi?|password)\b[^.\n]{0,40}\b(?:come|nel|nella|in)\b/i,
  ),
  m('it', 'read-file', 'file-read', 1, /\b(?:leggi|apri)\s{1,4}(?:il\s{1,4})?file\b/i),
  m(
    'it',
    'retry-with-secret',
    'exfiltration',
    2,
    /\b(?:richiama|richiami|chiama|chiami|riprova|ripeti|esegui)\b[^.\n]{0,60}\bcon\s{1,4}(?:il\s{1,4}|la\s{1,4}|le\s{1,4}|i\s{1,4}|tuo\s{1,4}|tua\s{1,4}|tue\s{1,4}|tuoi\s{1,4})?(?:contenuto|credenziali|chiavi?|password|token)\b/i,
  ),
];

/**
 * The shadowing wording of `REDIRECT_PATTERNS` in the same languages: "when tool X is used" (2), and changing a
 * recipient or always copying to someone (3).
 */
export const MULTILINGUAL_REDIRECT_PATTERNS: readonly MultilingualPattern[] = [
  m(
    'zh',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /(?:当|當|每当|每當|每次)[^。\n]{0,40}(?:使用|调用|調用|执行|執行|运行|運行)[^。\n]{0,20}(?:时|時)/,
  ),
  m(
    'zh',
    'change-recipient',
    'tool-redirect',
    3,
    /(?:更改|修改|替换|替換|改为|改為|换成|換成)[^。\n]{0,10}(?:收件人|接收者|接收人|号码|號碼)|(?:收件人|接收者|接收人)[^。\n]{0,10}(?:改为|改為|换成|換成|替换为|替換為)|(?:始终|始終|总是|總是|一律)[^。\n]{0,20}(?:抄送|密送)/,
  ),
  m(
    'es',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /\bcuando\b[^.\n]{0,80}\bse\s{1,4}(?:use|usa|utilice|utiliza|invoque|invoca|llame|llama|ejecute|ejecuta)\b/i,
  ),
  m(
    'es',
    'change-recipient',
    'tool-redirect',
    3,
    /\b(?:cambia|cambie|reemplaza|reemplace|sustituye|sustituya)\s{1,4}(?:el|la)\s{1,4}(?:[a-z]{1,20}\s{1,4})?(?:destinatario|direccion|destino|numero|cuenta)\b|\bsiempre\b[^.\n]{0,40}(?:\b(?:cco|cc|bcc)\b|[\w.+-]{1,64}@[\w-]{1,64}\.)/i,
  ),
  m(
    'de',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /\b(?:wenn|sobald|immer wenn)\b[^.\n]{0,80}\b(?:benutzt|verwendet|aufgerufen|ausgefuhrt|genutzt)\s{1,4}(?:wird|werden)\b/i,
  ),
  m(
    'de',
    'change-recipient',
    'tool-redirect',
    3,
    /\b(?:andere|andern sie|ersetze|ersetzen sie|tausche)\b[^.\n]{0,20}\b(?:empfanger|empfangeradresse|zieladresse|telefonnummer|zielkonto|konto|iban)\b|\b(?:immer|stets|zusatzlich)\b[^.\n]{0,40}(?:\b(?:bcc|cc)\b|[\w.+-]{1,64}@[\w-]{1,64}\.)/i,
  ),
  m(
    'fr',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /\b(?:quand|lorsque|lorsqu|chaque fois que)\b[^.\n]{0,80}\b(?:est|sont)\s{1,4}(?:utilise|utilisee|utilises|appele|appelee|appeles|invoque|invoquee|execute|executee)\b/i,
  ),
  m(
    'fr',
    'change-recipient',
    'tool-redirect',
    3,
    /\b(?:change|changez|remplace|remplacez|modifie|modifiez)\s{1,4}(?:le\s{1,4}|la\s{1,4}|l.)(?:[a-z]{1,20}\s{1,4})?(?:destinataire|adresse|destination|numero|compte)\b|\btoujours\b[^.\n]{0,40}(?:\b(?:cci|cc|bcc)\b|[\w.+-]{1,64}@[\w-]{1,64}\.)/i,
  ),
  m(
    'ja',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /(?:を|が)(?:使用する|使用される|使う|使われる|呼び出す|呼び出される|実行する|実行される)(?:とき|時|場合|際)/,
  ),
  m(
    'ja',
    'change-recipient',
    'tool-redirect',
    3,
    /(?:宛先|受信者|送信先|電話番号)[^。\n]{0,30}(?:に変更|に置き換え|に差し替え|に書き換え)|(?:常に|必ず)[^。\n]{0,30}(?:bcc|cc)/i,
  ),
  m(
    'pt',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /\bquando\b[^.\n]{0,80}\b(?:for|e|sao|forem)\s{1,4}(?:usad[ao]s?|utilizad[ao]s?|chamad[ao]s?|invocad[ao]s?|executad[ao]s?)\b/i,
  ),
  m(
    'pt',
    'change-recipient',
    'tool-redirect',
    3,
    /\b(?:troque|mude|altere|substitua)\s{1,4}(?:o|a)\s{1,4}(?:[a-z]{1,20}\s{1,4})?(?:destinatario|endereco|destino|numero|conta)\b|\bsempre\b[^.\n]{0,40}(?:\b(?:cco|cc|bcc)\b|[\w.+-]{1,64}@[\w-]{1,64}\.)/i,
  ),
  m(
    'ru',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /(?:когда|всякий\s{1,4}раз,?\s{1,4}когда)[^.\n]{0,80}(?:используется|используют|вызывается|вызывают|запускается|выполняется)/i,
  ),
  m(
    'ru',
    'change-recipient',
    'tool-redirect',
    3,
    /(?:меняй|измени|замени|смени|поменяй|подставляй|подставь)[^.\n]{0,20}(?:получател|адрес|номер|сч[её]т)|(?:всегда|также)[^.\n]{0,40}(?:скрытую\s{1,4}копию|\b(?:bcc|cc)\b|[\w.+-]{1,64}@[\w-]{1,64}\.)/i,
  ),
  m(
    'ko',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /(?:도구|툴)[^.\n]{0,10}(?:사용|호출|실행)(?:할|될|되는|하는)\s{0,2}(?:때|경우)/,
  ),
  m(
    'ko',
    'change-recipient',
    'tool-redirect',
    3,
    /(?:수신자|받는 사람|전화번호)[^.\n]{0,20}(?:변경|바꾸|바꿔|교체)|(?:항상|반드시)[^.\n]{0,30}(?:숨은 참조|\bbcc\b|\bcc\b)/i,
  ),
  m(
    'it',
    'when-tool-invoked',
    'tool-redirect',
    2,
    /\bquando\b[^.\n]{0,80}\bviene\s{1,4}(?:usato|usata|utilizzato|utilizzata|chiamato|chiamata|invocato|invocata|eseguito|eseguita)\b/i,
  ),
  m(
    'it',
    'change-recipient',
    'tool-redirect',
    3,
    /\b(?:cambia|cambiare|sostituisci|modifica)\s{1,4}(?:il\s{1,4}|la\s{1,4}|l.)(?:[a-z]{1,20}\s{1,4})?(?:destinatario|indirizzo|destinazione|numero|conto)\b|\bsempre\b[^.\n]{0,40}(?:\b(?:ccn|cc|bcc)\b|[\w.+-]{1,64}@[\w-]{1,64}\.)/i,
  ),
];
