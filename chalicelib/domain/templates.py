"""Message templates in en, es, zh-CN and pt-BR, PHI-minimal by default.

SMS, email and push bodies carry no readings, diagnoses or drug names unless
the patient's consent for that channel has ``full_content``: they name the
clinic, say what to do and how to reach the team (docs/clinical.md).  Templates
whose name ends in ``_full`` are the opted-in variants.  Parameters are only
ever ids, the clinic's name and support phone, the recipient's first name,
times, links and a verification code; clinician messages name no patient at
all (an opaque link instead).  Text a patient typed is never a parameter
(docs/api.md "Trust rules"): the ``_full`` variants carry the server's guidance, a
clinician's message text or a reminder label the care team wrote.  A unit
test renders every template and checks no value leaks.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

from chalicelib.domain.messages import Rendered

# template -> language -> (subject, body).  Bodies are SMS-sized; email and
# push reuse them (email adds a footer).
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "critical_reading_patient": {
        "en": (
            "Please act on your reading now",
            "{clinic}: your latest reading needs action now. Open the app for what "
            "to do. If you feel very unwell, call emergency services.",
        ),
        "es": (
            "Actúe ahora sobre su medición",
            "{clinic}: su última medición requiere acción ahora. Abra la app para "
            "saber qué hacer. Si se siente muy mal, llame a emergencias.",
        ),
        "pt-BR": (
            "Aja agora sobre sua medição",
            "{clinic}: sua última medição precisa de ação agora. Abra o app para "
            "saber o que fazer. Se estiver muito mal, ligue para a emergência.",
        ),
        "zh-CN": (
            "请立即处理您的读数",
            "{clinic}：您最新的读数需要立即处理。请打开应用查看如何处理。如感到非常不适，请拨打急救电话。",
        ),
    },
    "critical_reading_patient_full": {
        "en": ("Please act on your reading now", "{clinic}: {guidance}"),
        "es": ("Actúe ahora sobre su medición", "{clinic}: {guidance}"),
        "pt-BR": ("Aja agora sobre sua medição", "{clinic}: {guidance}"),
        "zh-CN": ("请立即处理您的读数", "{clinic}：{guidance}"),
    },
    # Safety messages per condition (docs/clinical.md "Safety net" rule 11): what to do now, when to call
    # emergency services, and the clinic's support phone; no value, diagnosis or drug name.  The alert
    # service sends ``safety_<condition>`` with ``condition`` and ``guidance`` (the reading's own advice,
    # shown only by the ``_full`` variant to a patient who opted in to full content).
    "safety_glucose_low": {
        "en": (
            "Please act now",
            "{clinic}: take 15 g of fast sugar now, recheck in 15 min. If unable to swallow or unresponsive, "
            "call emergency services. Questions: call {support}",
        ),
        "es": (
            "Actúe ahora",
            "{clinic}: tome ahora 15 g de azúcar rápida y vuelva a medir en 15 min. Si no puede tragar o no "
            "responde, que alguien llame a emergencias. Dudas: llame a {support}",
        ),
        "pt-BR": (
            "Aja agora",
            "{clinic}: tome agora 15 g de açúcar rápido e meça de novo em 15 min. Se não conseguir engolir ou "
            "não responder, alguém deve ligar para a emergência. Dúvidas: ligue para {support}",
        ),
        "zh-CN": (
            "请立即采取行动",
            "{clinic}：请立即摄入15克速效糖，15分钟后复测。如无法吞咽或失去反应，请他人立即拨打急救电话。"
            "如有疑问请致电 {support}",
        ),
    },
    "safety_glucose_high": {
        "en": (
            "Please act now",
            "{clinic}: check ketones if you can and call {support} now. If vomiting, confused or breathing hard, "
            "get emergency care.",
        ),
        "es": (
            "Actúe ahora",
            "{clinic}: mida cetonas si puede y llame ahora a {support}. Si vomita, está confundido o respira "
            "con dificultad, busque atención de emergencia.",
        ),
        "pt-BR": (
            "Aja agora",
            "{clinic}: meça as cetonas se puder e ligue agora para {support}. Se estiver vomitando, confuso ou "
            "com dificuldade para respirar, procure a emergência.",
        ),
        "zh-CN": (
            "请立即采取行动",
            "{clinic}：如可以请检测酮体，并立即致电 {support}。如出现呕吐、意识混乱或呼吸困难，请立即就医急救。",
        ),
    },
    # The one safety SMS that takes two segments: every crisis symptom docs/clinical.md lists, and the phone.
    "safety_bp_high": {
        "en": (
            "Please act now",
            "{clinic}: rest and recheck in 5 minutes. Call emergency services now if you have chest pain, "
            "shortness of breath, back pain, numbness or weakness, vision change or trouble speaking. "
            "Otherwise call {support}.",
        ),
        "es": (
            "Actúe ahora",
            "{clinic}: descanse y vuelva a medir en 5 minutos. Llame a emergencias ahora si tiene dolor en el "
            "pecho, falta de aire, dolor de espalda, entumecimiento o debilidad, cambios en la vista o "
            "dificultad para hablar. Si no, llame a {support}.",
        ),
        "pt-BR": (
            "Aja agora",
            "{clinic}: descanse e meça de novo em 5 minutos. Ligue agora para a emergência se tiver dor no "
            "peito, falta de ar, dor nas costas, dormência ou fraqueza, alteração da visão ou dificuldade para "
            "falar. Se não, ligue para {support}.",
        ),
        "zh-CN": (
            "请立即采取行动",
            "{clinic}：请休息，5分钟后复测。如有胸痛、气短、背痛、麻木或无力、视力改变或说话困难，"
            "请立即拨打急救电话。否则请致电 {support}。",
        ),
    },
    "safety_bp_low": {
        "en": (
            "Please act now",
            "{clinic}: sit or lie down, drink water and recheck. If you faint or have chest pain, call emergency "
            "services. Otherwise call {support}.",
        ),
        "es": (
            "Actúe ahora",
            "{clinic}: siéntese o acuéstese, beba agua y vuelva a medir. Si se desmaya o tiene dolor en el "
            "pecho, llame a emergencias. Si no, llame a {support}.",
        ),
        "pt-BR": (
            "Aja agora",
            "{clinic}: sente-se ou deite-se, beba água e meça de novo. Se desmaiar ou tiver dor no peito, ligue "
            "para a emergência. Se não, ligue para {support}.",
        ),
        "zh-CN": (
            "请立即采取行动",
            "{clinic}：请坐下或躺下，喝些水后复测。如晕倒或胸痛，请立即拨打急救电话。否则请致电 {support}。",
        ),
    },
    "safety_pulse": {
        "en": (
            "Please act now",
            "{clinic}: rest and recheck. If you feel faint, have chest pain or are short of breath, call "
            "emergency services. Otherwise call {support}.",
        ),
        "es": (
            "Actúe ahora",
            "{clinic}: descanse y vuelva a medir. Si siente que se desmaya, tiene dolor en el pecho o falta de "
            "aire, llame a emergencias. Si no, llame a {support}.",
        ),
        "pt-BR": (
            "Aja agora",
            "{clinic}: descanse e meça de novo. Se sentir desmaio, dor no peito ou falta de ar, ligue para a "
            "emergência. Se não, ligue para {support}.",
        ),
        "zh-CN": (
            "请立即采取行动",
            "{clinic}：请休息后复测。如感到要晕倒、胸痛或气短，请立即拨打急救电话。否则请致电 {support}。",
        ),
    },
    # A red flag by SMS already gets ``red_flag_patient`` as its reply; this is the alert's own message.
    "safety_red_flag": {
        "en": (
            "We are alerting your care team",
            "{clinic}: we are alerting your care team now. If this is an emergency, call emergency services. "
            "You can also call {support}.",
        ),
        "es": (
            "Estamos avisando a su equipo",
            "{clinic}: estamos avisando ahora a su equipo de cuidado. Si es una emergencia, llame a emergencias. "
            "También puede llamar a {support}.",
        ),
        "pt-BR": (
            "Estamos avisando sua equipe",
            "{clinic}: estamos avisando sua equipe de cuidado agora. Se for uma emergência, ligue para a "
            "emergência. Você também pode ligar para {support}.",
        ),
        "zh-CN": (
            "正在通知您的护理团队",
            "{clinic}：我们正在通知您的护理团队。如为紧急情况，请拨打急救电话。您也可以致电 {support}。",
        ),
    },
    # Full content: the reading's own guidance (it carries the emergency advice of docs/clinical.md).
    **{
        f"safety_{condition}_full": {
            "en": ("Please act now", "{clinic}: {guidance} Questions: call {support}"),
            "es": ("Actúe ahora", "{clinic}: {guidance} Dudas: llame a {support}"),
            "pt-BR": ("Aja agora", "{clinic}: {guidance} Dúvidas: ligue para {support}"),
            "zh-CN": ("请立即采取行动", "{clinic}：{guidance} 如有疑问请致电 {support}"),
        }
        for condition in ("glucose_low", "glucose_high", "bp_high", "bp_low", "pulse")
    },
    "sms_reading_received": {
        "en": ("Reading received", "{clinic}: thanks, your reading was received. Open the app for your advice."),
        "es": ("Medición recibida", "{clinic}: gracias, recibimos su medición. Abra la app para ver sus consejos."),
        "pt-BR": ("Medição recebida", "{clinic}: obrigado, recebemos sua medição. Abra o app para ver as orientações."),
        "zh-CN": ("已收到读数", "{clinic}：谢谢，已收到您的读数。请打开应用查看建议。"),
    },
    "sms_reading_received_full": {
        "en": ("Reading received", "{clinic}: reading received. {guidance}"),
        "es": ("Medición recibida", "{clinic}: medición recibida. {guidance}"),
        "pt-BR": ("Medição recebida", "{clinic}: medição recebida. {guidance}"),
        "zh-CN": ("已收到读数", "{clinic}：已收到读数。{guidance}"),
    },
    # A glucose texted without a unit: the reply says which unit it was read in (docs/clinical.md rule 8).
    "sms_glucose_received": {
        "en": (
            "Reading received",
            "{clinic}: thanks, your glucose was read in {unit}. If that is wrong, resend it with the unit, "
            "e.g. GLU 6.1 mmol or GLU 110 mg.",
        ),
        "es": (
            "Medición recibida",
            "{clinic}: gracias, leímos su glucosa en {unit}. Si no es correcto, reenvíela con la unidad, "
            "p. ej. GLU 6.1 mmol o GLU 110 mg.",
        ),
        "pt-BR": (
            "Medição recebida",
            "{clinic}: obrigado, lemos sua glicose em {unit}. Se estiver errado, reenvie com a unidade, "
            "ex.: GLU 6.1 mmol ou GLU 110 mg.",
        ),
        "zh-CN": (
            "已收到读数",
            "{clinic}：谢谢，您的血糖按 {unit} 读取。如有误，请带单位重新发送，例如 GLU 6.1 mmol 或 GLU 110 mg。",
        ),
    },
    "sms_glucose_received_full": {
        "en": ("Reading received", "{clinic}: reading received, read in {unit}. {guidance}"),
        "es": ("Medición recibida", "{clinic}: medición recibida, leída en {unit}. {guidance}"),
        "pt-BR": ("Medição recebida", "{clinic}: medição recebida, lida em {unit}. {guidance}"),
        "zh-CN": ("已收到读数", "{clinic}：已收到读数，按 {unit} 读取。{guidance}"),
    },
    # A number beyond what a meter reads, stored as the meter's HI / LO: recheck.
    "sms_glucose_recheck": {
        "en": (
            "Please recheck",
            "{clinic}: that number is beyond what a meter reads; your care team is alerted. Please recheck now "
            "and text the result (or GLU HI / GLU LO).",
        ),
        "es": (
            "Vuelva a medir",
            "{clinic}: ese número está fuera de lo que mide un glucómetro; avisamos a su equipo. Mida de nuevo "
            "ahora y envíe el resultado (o GLU HI / GLU LO).",
        ),
        "pt-BR": (
            "Meça de novo",
            "{clinic}: esse número está fora do que um glicosímetro mede; avisamos sua equipe. Meça de novo "
            "agora e envie o resultado (ou GLU HI / GLU LO).",
        ),
        "zh-CN": (
            "请重新测量",
            "{clinic}：该数值超出血糖仪的测量范围，已通知您的护理团队。"
            "请立即重新测量并发送结果（或 GLU HI / GLU LO）。",
        ),
    },
    # A reading, TAKEN, appointment reply or message from a number several patients share (rule 9).
    "shared_phone_use_app": {
        "en": (
            "Please use the app",
            "{clinic}: we could not tell who sent this text. Please use the app, or call {support}. "
            "Your care team will follow up.",
        ),
        "es": (
            "Use la app, por favor",
            "{clinic}: no pudimos saber quién envió este mensaje. Use la app o llame al {support}. "
            "Su equipo de cuidado le contactará.",
        ),
        "pt-BR": (
            "Use o app, por favor",
            "{clinic}: não conseguimos saber quem enviou esta mensagem. Use o app ou ligue para {support}. "
            "Sua equipe entrará em contato.",
        ),
        "zh-CN": (
            "请使用应用",
            "{clinic}：我们无法确定这条短信是谁发送的。请使用应用，或致电 {support}。护理团队会与您联系。",
        ),
    },
    "sms_not_understood": {
        "en": (
            "Message received",
            "{clinic}: we could not read that measurement. Try BP 120/80 or GLU 110, or open the app.",
        ),
        "es": (
            "Mensaje recibido",
            "{clinic}: no pudimos leer esa medición. Pruebe BP 120/80 o GLU 110, o abra la app.",
        ),
        "pt-BR": (
            "Mensagem recebida",
            "{clinic}: não conseguimos ler essa medição. Tente BP 120/80 ou GLU 110, ou abra o app.",
        ),
        "zh-CN": ("已收到消息", "{clinic}：无法识别该读数。请尝试 BP 120/80 或 GLU 110，或打开应用。"),
    },
    "clinician_message_patient": {
        "en": (
            "New message from your care team",
            "{clinic}: you have a new message from your care team. Open the app to read it.",
        ),
        "es": (
            "Nuevo mensaje de su equipo",
            "{clinic}: tiene un nuevo mensaje de su equipo de cuidado. Abra la app para leerlo.",
        ),
        "pt-BR": (
            "Nova mensagem da sua equipe",
            "{clinic}: você tem uma nova mensagem da sua equipe de cuidado. Abra o app para ler.",
        ),
        "zh-CN": ("护理团队的新消息", "{clinic}：您有一条来自护理团队的新消息。请打开应用查看。"),
    },
    "clinician_message_patient_full": {
        "en": ("Message from your care team", "{clinic}: {text}"),
        "es": ("Mensaje de su equipo", "{clinic}: {text}"),
        "pt-BR": ("Mensagem da sua equipe", "{clinic}: {text}"),
        "zh-CN": ("护理团队的消息", "{clinic}：{text}"),
    },
    # Clinician messages name no patient (docs/clinical.md "Safety net" rule 14; a patient id may be an MRN):
    # the clinic, the priority, what happened in general terms and, for pages, the opaque ``{link}``
    # the alert service builds.  ``CLINICIAN_TEMPLATES`` below lists them; a unit test holds the rule.
    "patient_message_clinician": {
        "en": ("New patient message", "Carewire, {clinic}: new message from patient. Open Carewire to read it."),
        "es": (
            "Nuevo mensaje de paciente",
            "Carewire, {clinic}: nuevo mensaje de paciente. Abra Carewire para leerlo.",
        ),
        "pt-BR": (
            "Nova mensagem de paciente",
            "Carewire, {clinic}: nova mensagem de paciente. Abra o Carewire para ler.",
        ),
        "zh-CN": ("新的患者消息", "Carewire，{clinic}：有一条新的患者消息。请打开 Carewire 查看。"),
    },
    "alert_page_clinician": {
        "en": ("Critical alert", "Carewire, {clinic}: CRITICAL alert, a patient needs review now. Open {link}"),
        "es": (
            "Alerta crítica",
            "Carewire, {clinic}: alerta CRÍTICA, un paciente necesita revisión ahora. Abra {link}",
        ),
        "pt-BR": (
            "Alerta crítico",
            "Carewire, {clinic}: alerta CRÍTICO, um paciente precisa de avaliação agora. Abra {link}",
        ),
        "zh-CN": ("危急警报", "Carewire，{clinic}：危急警报，有患者需要立即查看。请打开 {link}"),
    },
    "alert_escalation_clinician": {
        "en": (
            "Escalated alert",
            "Carewire, {clinic}: ESCALATED critical alert, unacknowledged for {minutes} min. Open {link}",
        ),
        "es": (
            "Alerta escalada",
            "Carewire, {clinic}: alerta crítica ESCALADA, sin confirmar en {minutes} min. Abra {link}",
        ),
        "pt-BR": (
            "Alerta escalado",
            "Carewire, {clinic}: alerta crítico ESCALADO, sem confirmação há {minutes} min. Abra {link}",
        ),
        "zh-CN": ("警报已升级", "Carewire，{clinic}：危急警报已升级，{minutes} 分钟未确认。请打开 {link}"),
    },
    # Level 3 (unanswered): speakable first, so a call is understood; the link comes last for SMS and email.
    "alert_escalation_voice": {
        "en": (
            "Unanswered critical alert",
            "Carewire, {clinic}: critical alert unanswered for {minutes} minutes. Acknowledge now: {link}",
        ),
        "es": (
            "Alerta crítica sin respuesta",
            "Carewire, {clinic}: alerta crítica sin respuesta desde hace {minutes} minutos. Confírmela ahora: {link}",
        ),
        "pt-BR": (
            "Alerta crítico sem resposta",
            "Carewire, {clinic}: alerta crítico sem resposta há {minutes} minutos. Confirme agora: {link}",
        ),
        "zh-CN": ("危急警报无人响应", "Carewire，{clinic}：危急警报已 {minutes} 分钟无人响应。请立即确认：{link}"),
    },
    "digest_clinician": {
        "en": (
            "Your Carewire daily digest",
            "Carewire: {count} routine alerts and {stage1} stage 1 BP readings since your last digest. Open Carewire.",
        ),
        "es": (
            "Su resumen diario de Carewire",
            "Carewire: {count} alertas de rutina y {stage1} mediciones de PA en estadio 1 desde su último resumen. "
            "Abra Carewire.",
        ),
        "pt-BR": (
            "Seu resumo diário do Carewire",
            "Carewire: {count} alertas de rotina e {stage1} medições de PA em estágio 1 desde o último resumo. "
            "Abra o Carewire.",
        ),
        "zh-CN": (
            "您的 Carewire 每日摘要",
            "Carewire：自上次摘要以来有 {count} 条常规警报和 {stage1} 次1期血压读数。请打开 Carewire。",
        ),
    },
    "opt_out_confirmation": {
        "en": (
            "Unsubscribed",
            "{clinic}: you will get no more text messages from us. Reply START to resubscribe, HELP for help.",
        ),
        "es": (
            "Baja confirmada",
            "{clinic}: no recibirá más mensajes de texto. Responda START para volver a suscribirse, HELP para ayuda.",
        ),
        "pt-BR": (
            "Descadastrado",
            "{clinic}: você não receberá mais mensagens de texto. Responda START para voltar, HELP para ajuda.",
        ),
        "zh-CN": ("已退订", "{clinic}：您将不再收到我们的短信。回复 START 重新订阅，回复 HELP 获取帮助。"),
    },
    "opt_in_confirmation": {
        "en": ("Subscribed", "{clinic}: text messages are back on. Reply HELP for help, STOP to opt out."),
        "es": (
            "Suscrito",
            "{clinic}: los mensajes de texto están activos de nuevo. Responda HELP para ayuda, STOP "
            "para darse de baja.",
        ),
        "pt-BR": ("Inscrito", "{clinic}: as mensagens de texto voltaram. Responda HELP para ajuda, STOP para sair."),
        "zh-CN": ("已订阅", "{clinic}：短信已恢复。回复 HELP 获取帮助，回复 STOP 退订。"),
    },
    "help": {
        "en": ("Help", "{clinic}: for help contact {support}. Reply STOP to opt out."),
        "es": ("Ayuda", "{clinic}: para ayuda contacte a {support}. Responda STOP para darse de baja."),
        "pt-BR": ("Ajuda", "{clinic}: para ajuda fale com {support}. Responda STOP para sair."),
        "zh-CN": ("帮助", "{clinic}：如需帮助请联系 {support}。回复 STOP 退订。"),
    },
    "conversation_ack": {
        "en": ("Message received", "{clinic}: thanks, your care team got your message."),
        "es": ("Mensaje recibido", "{clinic}: gracias, su equipo de cuidado recibió su mensaje."),
        "pt-BR": ("Mensagem recebida", "{clinic}: obrigado, sua equipe de cuidado recebeu sua mensagem."),
        "zh-CN": ("已收到消息", "{clinic}：谢谢，您的护理团队已收到您的消息。"),
    },
    "reminder_measure": {
        "en": ("Time for your check", "{clinic}: it is time for your scheduled check. Open the app to record it."),
        "es": ("Hora de su control", "{clinic}: es hora de su control programado. Abra la app para registrarlo."),
        "pt-BR": (
            "Hora da sua medição",
            "{clinic}: está na hora da sua medição programada. Abra o app para registrar.",
        ),
        "zh-CN": ("测量时间到了", "{clinic}：您预定的测量时间到了。请打开应用记录。"),
    },
    "reminder_measure_full": {
        "en": ("Time for your check", "{clinic}: time for {label}. Open the app to record it."),
        "es": ("Hora de su control", "{clinic}: es hora de {label}. Abra la app para registrarlo."),
        "pt-BR": ("Hora da sua medição", "{clinic}: hora de {label}. Abra o app para registrar."),
        "zh-CN": ("测量时间到了", "{clinic}：{label} 的时间到了。请打开应用记录。"),
    },
    "reminder_medication": {
        "en": ("Reminder from your care team", "{clinic}: it is time for your scheduled dose. Reply TAKEN when done."),
        "es": ("Recordatorio de su equipo", "{clinic}: es hora de su dosis programada. Responda TAKEN cuando la tome."),
        "pt-BR": (
            "Lembrete da sua equipe",
            "{clinic}: está na hora da sua dose programada. Responda TAKEN quando tomar.",
        ),
        "zh-CN": ("护理团队提醒", "{clinic}：您预定的服药时间到了。服用后请回复 TAKEN。"),
    },
    "reminder_medication_full": {
        "en": ("Reminder from your care team", "{clinic}: time for {label}. Reply TAKEN when done."),
        "es": ("Recordatorio de su equipo", "{clinic}: es hora de {label}. Responda TAKEN cuando la tome."),
        "pt-BR": ("Lembrete da sua equipe", "{clinic}: hora de {label}. Responda TAKEN quando tomar."),
        "zh-CN": ("护理团队提醒", "{clinic}：{label} 的时间到了。服用后请回复 TAKEN。"),
    },
    # Delivered over an hour after its time (held back by quiet hours): never "take it now", which could
    # mean a mistimed or doubled dose (docs/clinical.md "Safety net" rule 12).  ``scheduled`` is HH:MM local.
    "reminder_medication_late": {
        "en": (
            "About your scheduled dose",
            "{clinic}: a dose was scheduled at {scheduled}. Follow your care plan for missed doses; do not double "
            "up. Reply TAKEN if you already took it.",
        ),
        "es": (
            "Sobre su dosis programada",
            "{clinic}: tenía una dosis programada a las {scheduled}. Siga su plan de cuidado para dosis olvidadas; "
            "no tome doble. Responda TAKEN si ya la tomó.",
        ),
        "pt-BR": (
            "Sobre sua dose programada",
            "{clinic}: uma dose estava programada para as {scheduled}. Siga seu plano de cuidado para doses "
            "esquecidas; não tome em dobro. Responda TAKEN se já tomou.",
        ),
        "zh-CN": (
            "关于您预定的服药",
            "{clinic}：您有一次服药预定在 {scheduled}。漏服请按护理计划处理，切勿加倍服用。如已服用请回复 TAKEN。",
        ),
    },
    "reminder_medication_late_full": {
        "en": (
            "About your scheduled dose",
            "{clinic}: {label} was scheduled at {scheduled}. Follow your care plan for missed doses; do not double "
            "up. Reply TAKEN if you already took it.",
        ),
        "es": (
            "Sobre su dosis programada",
            "{clinic}: dosis de {label} programada a las {scheduled}. Siga su plan de cuidado para dosis "
            "olvidadas; no tome doble. Responda TAKEN si ya la tomó.",
        ),
        "pt-BR": (
            "Sobre sua dose programada",
            "{clinic}: dose de {label} programada para as {scheduled}. Siga seu plano de cuidado para doses "
            "esquecidas; não tome em dobro. Responda TAKEN se já tomou.",
        ),
        "zh-CN": (
            "关于您预定的服药",
            "{clinic}：{label} 预定在 {scheduled} 服用。漏服请按护理计划处理，切勿加倍服用。如已服用请回复 TAKEN。",
        ),
    },
    "reminder_custom": {
        "en": ("Reminder from your care team", "{clinic}: you have a reminder from your care team. Open the app."),
        "es": ("Recordatorio de su equipo", "{clinic}: tiene un recordatorio de su equipo de cuidado. Abra la app."),
        "pt-BR": ("Lembrete da sua equipe", "{clinic}: você tem um lembrete da sua equipe de cuidado. Abra o app."),
        "zh-CN": ("护理团队提醒", "{clinic}：您有一条来自护理团队的提醒。请打开应用。"),
    },
    "reminder_custom_full": {
        "en": ("Reminder from your care team", "{clinic}: {label}"),
        "es": ("Recordatorio de su equipo", "{clinic}: {label}"),
        "pt-BR": ("Lembrete da sua equipe", "{clinic}: {label}"),
        "zh-CN": ("护理团队提醒", "{clinic}：{label}"),
    },
    "missed_readings_nudge": {
        "en": (
            "We miss your readings",
            "{clinic}: we have not had a reading from you for a few days. Please take one today.",
        ),
        "es": (
            "Extrañamos sus mediciones",
            "{clinic}: no hemos recibido mediciones suyas en unos días. Por favor, tome una hoy.",
        ),
        "pt-BR": (
            "Sentimos falta das suas medições",
            "{clinic}: não recebemos medições suas há alguns dias. Por favor, faça uma hoje.",
        ),
        "zh-CN": ("好久没收到您的读数", "{clinic}：我们几天没有收到您的读数了。请今天测量一次。"),
    },
    # Discharge from the monitoring program: once, in the patient's language, nothing about why.
    "program_closing": {
        "en": (
            "Your monitoring program has ended",
            "{clinic}: your remote monitoring program has ended and reminders stop. Questions? Call {support}.",
        ),
        "es": (
            "Su programa de monitoreo terminó",
            "{clinic}: su programa de monitoreo remoto terminó y los recordatorios se detienen. "
            "¿Dudas? Llame al {support}.",
        ),
        "pt-BR": (
            "Seu programa de monitoramento terminou",
            "{clinic}: seu programa de monitoramento remoto terminou e os lembretes param. Dúvidas? Ligue {support}.",
        ),
        "zh-CN": ("您的监测计划已结束", "{clinic}：您的远程监测计划已结束，提醒将停止。如有疑问，请致电 {support}。"),
    },
    "appointment_reminder": {
        "en": (
            "Appointment reminder",
            "{clinic}: reminder of your appointment on {when}. Reply C to confirm or R to reschedule.",
        ),
        "es": (
            "Recordatorio de cita",
            "{clinic}: recordatorio de su cita el {when}. Responda C para confirmar o R para cambiarla.",
        ),
        "pt-BR": (
            "Lembrete de consulta",
            "{clinic}: lembrete da sua consulta em {when}. Responda C para confirmar ou R para remarcar.",
        ),
        "zh-CN": ("预约提醒", "{clinic}：提醒您 {when} 的预约。回复 C 确认，回复 R 改期。"),
    },
    "appointment_join_link": {
        "en": ("Your video visit link", "{clinic}: your video visit on {when}. Join at {join_url}"),
        "es": ("Enlace de su videoconsulta", "{clinic}: su videoconsulta el {when}. Únase en {join_url}"),
        "pt-BR": ("Link da sua teleconsulta", "{clinic}: sua teleconsulta em {when}. Entre em {join_url}"),
        "zh-CN": ("视频问诊链接", "{clinic}：您 {when} 的视频问诊。加入链接：{join_url}"),
    },
    "appointment_rescheduled": {
        "en": ("Appointment moved", "{clinic}: your appointment has moved to {when}. Reply C to confirm."),
        "es": ("Cita cambiada", "{clinic}: su cita se cambió al {when}. Responda C para confirmar."),
        "pt-BR": ("Consulta remarcada", "{clinic}: sua consulta foi remarcada para {when}. Responda C para confirmar."),
        "zh-CN": ("预约已改期", "{clinic}：您的预约已改到 {when}。回复 C 确认。"),
    },
    "appointment_cancelled": {
        "en": (
            "Appointment cancelled",
            "{clinic}: your appointment on {when} is cancelled. Your care team will be in touch.",
        ),
        "es": ("Cita cancelada", "{clinic}: su cita del {when} fue cancelada. Su equipo de cuidado le contactará."),
        "pt-BR": (
            "Consulta cancelada",
            "{clinic}: sua consulta de {when} foi cancelada. Sua equipe entrará em contato.",
        ),
        "zh-CN": ("预约已取消", "{clinic}：您 {when} 的预约已取消。护理团队会与您联系。"),
    },
    # A code proving a phone or email the patient changed (docs/api.md "Trust rules"): the clinic, the code and
    # how long it lasts, nothing about the patient (it goes to an address not yet proven to be theirs).
    "contact_verification_sms": {
        "en": (
            "Your verification code",
            "{clinic}: your verification code is {code}. It is valid 10 minutes. If you did not ask for it, "
            "ignore this message.",
        ),
        "es": (
            "Su código de verificación",
            "{clinic}: su código de verificación es {code}. Es válido 10 minutos. Si no lo pidió, ignore este mensaje.",
        ),
        "pt-BR": (
            "Seu código de verificação",
            "{clinic}: seu código de verificação é {code}. É válido por 10 minutos. Se não pediu, ignore esta "
            "mensagem.",
        ),
        "zh-CN": ("您的验证码", "{clinic}：您的验证码是 {code}，10分钟内有效。如非本人操作，请忽略此消息。"),
    },
    "contact_verification_email": {
        "en": (
            "Your verification code",
            "{clinic}: to confirm this email address, enter the code {code} in the app. It is valid 10 minutes. "
            "If you did not ask for it, ignore this email.",
        ),
        "es": (
            "Su código de verificación",
            "{clinic}: para confirmar este correo, introduzca el código {code} en la app. Es válido 10 minutos. "
            "Si no lo pidió, ignore este correo.",
        ),
        "pt-BR": (
            "Seu código de verificação",
            "{clinic}: para confirmar este e-mail, digite o código {code} no app. É válido por 10 minutos. "
            "Se não pediu, ignore este e-mail.",
        ),
        "zh-CN": (
            "您的验证码",
            "{clinic}：请在应用中输入验证码 {code} 以确认此邮箱地址，10分钟内有效。如非本人操作，请忽略此邮件。",
        ),
    },
    "red_flag_patient": {
        "en": (
            "We are alerting your care team",
            "{clinic}: we are alerting your care team now. If this is an emergency, call emergency services. "
            "You can also call {support}.",
        ),
        "es": (
            "Estamos avisando a su equipo",
            "{clinic}: estamos avisando ahora a su equipo de cuidado. Si es una emergencia, llame a emergencias. "
            "También puede llamar a {support}.",
        ),
        "pt-BR": (
            "Estamos avisando sua equipe",
            "{clinic}: estamos avisando sua equipe de cuidado agora. Se for uma emergência, ligue para a "
            "emergência. Você também pode ligar para {support}.",
        ),
        "zh-CN": (
            "正在通知您的护理团队",
            "{clinic}：我们正在通知您的护理团队。如为紧急情况，请拨打急救电话。您也可以致电 {support}。",
        ),
    },
}

# Templates addressed to clinicians (the rest go to patients): no patient identifier, see rule 14 above.
CLINICIAN_TEMPLATES = frozenset(
    {name for name in TEMPLATES if name.endswith("_clinician")} | {"alert_escalation_voice"}
)

EMAIL_FOOTER = {
    "en": "You receive this because you are enrolled with {clinic}. Manage messages in the app.",
    "es": "Recibe este mensaje porque está inscrito en {clinic}. Gestione los mensajes en la app.",
    "pt-BR": "Você recebe esta mensagem porque está inscrito em {clinic}. Gerencie as mensagens no app.",
    "zh-CN": "您收到此邮件是因为您已在 {clinic} 登记。可在应用中管理消息。",
}

_HTML = (
    '<!doctype html><html><body style="font-family:sans-serif;max-width:36em">'
    '<p>{{ body }}</p><hr><p style="color:#666;font-size:small">{{ footer }}</p></body></html>'
)


def fields_of(template: str) -> set[str]:
    names: set[str] = set()
    for _, (subject, body) in TEMPLATES[template].items():
        for text in (subject, body):
            names |= {name for _, name, _, _ in Formatter().parse(text) if name}
    return names


def render(template: str, language: str, params: dict[str, Any], email: bool = False) -> Rendered:
    texts = TEMPLATES[template]
    subject, body = texts.get(language) or texts["en"]
    text = body.format(**params)
    if not email:
        return Rendered(subject=subject.format(**params), text=text)
    from jinja2 import Environment

    footer = (EMAIL_FOOTER.get(language) or EMAIL_FOOTER["en"]).format(**params)
    html = Environment(autoescape=True).from_string(_HTML).render(body=text, footer=footer)
    return Rendered(subject=subject.format(**params), text=f"{text}\n\n--\n{footer}", html=html)
