"""Short, safe guidance for the patient after a reading, in four languages.

Guidance tells the patient what to do, never a diagnosis.  Critical values
always carry the emergency advice of docs/clinical.md.  The text is chosen by key
and language, so a stored reading renders the same guidance on every replay.
"""

from __future__ import annotations

GUIDANCE: dict[str, dict[str, str]] = {
    # A reading measured hours before it arrived (docs/clinical.md "Safety net" rule 4): no advice to act now.
    "late_reading": {
        "en": "This reading is from some hours ago; it is recorded and your care team will review it. "
        "If you feel unwell now, measure again.",
        "es": "Esta medición es de hace unas horas; quedó registrada y su equipo de atención la revisará. "
        "Si ahora se siente mal, vuelva a medir.",
        "pt-BR": "Esta medição é de algumas horas atrás; foi registrada e sua equipe de cuidado vai revisá-la. "
        "Se você se sentir mal agora, meça de novo.",
        "zh-CN": "这是几小时前的读数，已记录，您的护理团队会查看。如果您现在感觉不适，请重新测量。",
    },
    "glucose_critical_low": {
        "en": "Your sugar is very low. Take 15 g of fast-acting sugar now (juice or glucose tablets) and recheck "
        "in 15 minutes. If you cannot swallow or are not responding, someone must call emergency services.",
        "es": "Su azúcar está muy baja. Tome ahora 15 g de azúcar de acción rápida (jugo o tabletas de glucosa) "
        "y vuelva a medir en 15 minutos. Si no puede tragar o no responde, alguien debe llamar a emergencias.",
        "pt-BR": "Seu açúcar está muito baixo. Tome agora 15 g de açúcar de ação rápida (suco ou tabletes de "
        "glicose) e meça de novo em 15 minutos. Se não conseguir engolir ou não responder, alguém deve chamar a "
        "emergência.",
        "zh-CN": "您的血糖非常低。请立即摄入15克速效糖（果汁或葡萄糖片），15分钟后复测。如无法吞咽或失去反应，"
        "请他人立即拨打急救电话。",
    },
    "glucose_low": {
        "en": "Your sugar is low. Take 15 g of fast-acting sugar and recheck in 15 minutes.",
        "es": "Su azúcar está baja. Tome 15 g de azúcar de acción rápida y vuelva a medir en 15 minutos.",
        "pt-BR": "Seu açúcar está baixo. Tome 15 g de açúcar de ação rápida e meça de novo em 15 minutos.",
        "zh-CN": "您的血糖偏低。请摄入15克速效糖，15分钟后复测。",
    },
    "glucose_normal": {
        "en": "Your reading is within your target. Keep following your plan.",
        "es": "Su lectura está dentro de su objetivo. Siga con su plan.",
        "pt-BR": "Sua medição está dentro da sua meta. Continue seguindo seu plano.",
        "zh-CN": "您的读数在目标范围内。请继续按计划进行。",
    },
    "glucose_high": {
        "en": "Your sugar is above your target. Follow your care plan.",
        "es": "Su azúcar está por encima de su objetivo. Siga su plan de cuidado.",
        "pt-BR": "Seu açúcar está acima da sua meta. Siga seu plano de cuidado.",
        "zh-CN": "您的血糖高于目标。请按照您的护理计划进行。",
    },
    "glucose_high_ketones": {
        "en": "Your sugar is high. Follow your care plan; if you use insulin or feel unwell, check ketones.",
        "es": "Su azúcar está alta. Siga su plan de cuidado; si usa insulina o se siente mal, mida las cetonas.",
        "pt-BR": "Seu açúcar está alto. Siga seu plano de cuidado; se usa insulina ou não se sente bem, meça as "
        "cetonas.",
        "zh-CN": "您的血糖偏高。请按护理计划进行；如使用胰岛素或感到不适，请检测酮体。",
    },
    "glucose_critical_high": {
        "en": "Your sugar is very high. Contact your care team now. Get emergency care if you are vomiting, "
        "confused or breathing hard.",
        "es": "Su azúcar está muy alta. Contacte ahora a su equipo de cuidado. Busque atención de emergencia si "
        "vomita, está confundido o respira con dificultad.",
        "pt-BR": "Seu açúcar está muito alto. Fale agora com sua equipe de cuidado. Procure atendimento de "
        "emergência se estiver vomitando, confuso ou com dificuldade para respirar.",
        "zh-CN": "您的血糖非常高。请立即联系您的护理团队。如出现呕吐、意识混乱或呼吸困难，请立即就医急救。",
    },
    "bp_normal": {
        "en": "Your blood pressure is within your target.",
        "es": "Su presión arterial está dentro de su objetivo.",
        "pt-BR": "Sua pressão arterial está dentro da sua meta.",
        "zh-CN": "您的血压在目标范围内。",
    },
    "bp_elevated": {
        "en": "Your blood pressure is a little above the ideal range. Keep following your plan and measure as "
        "scheduled.",
        "es": "Su presión arterial está un poco por encima de lo ideal. Siga su plan y mida según lo programado.",
        "pt-BR": "Sua pressão arterial está um pouco acima do ideal. Continue seu plano e meça como combinado.",
        "zh-CN": "您的血压略高于理想范围。请继续按计划进行，并按时测量。",
    },
    "bp_high": {
        "en": "Your blood pressure is above your target. Keep taking your medicines as prescribed; your care "
        "team will review it.",
        "es": "Su presión arterial está por encima de su objetivo. Siga tomando sus medicamentos como se le "
        "indicó; su equipo de cuidado la revisará.",
        "pt-BR": "Sua pressão arterial está acima da sua meta. Continue tomando seus remédios como prescrito; "
        "sua equipe de cuidado vai avaliar.",
        "zh-CN": "您的血压高于目标。请继续按医嘱服药，您的护理团队会进行查看。",
    },
    "bp_critical_high": {
        "en": "Your blood pressure is very high. Rest for 5 minutes and measure again. Call emergency services "
        "now if you have chest pain, shortness of breath, back pain, numbness or weakness, vision changes or "
        "trouble speaking.",
        "es": "Su presión arterial está muy alta. Descanse 5 minutos y vuelva a medir. Llame a emergencias ahora "
        "si tiene dolor en el pecho, falta de aire, dolor de espalda, entumecimiento o debilidad, cambios en la "
        "vista o dificultad para hablar.",
        "pt-BR": "Sua pressão arterial está muito alta. Descanse 5 minutos e meça de novo. Ligue agora para a "
        "emergência se tiver dor no peito, falta de ar, dor nas costas, dormência ou fraqueza, alteração da "
        "visão ou dificuldade para falar.",
        "zh-CN": "您的血压非常高。请休息5分钟后复测。如有胸痛、气短、背痛、麻木或无力、视力改变或说话困难，"
        "请立即拨打急救电话。",
    },
    "bp_low": {
        "en": "Your blood pressure is low. Sit or lie down, drink some water and measure again. Contact your "
        "care team if you feel dizzy or faint.",
        "es": "Su presión arterial está baja. Siéntese o acuéstese, beba agua y vuelva a medir. Contacte a su "
        "equipo de cuidado si se siente mareado o a punto de desmayarse.",
        "pt-BR": "Sua pressão arterial está baixa. Sente-se ou deite-se, beba água e meça de novo. Fale com sua "
        "equipe de cuidado se sentir tontura ou desmaio.",
        "zh-CN": "您的血压偏低。请坐下或躺下，喝些水后复测。如感到头晕或快要晕倒，请联系您的护理团队。",
    },
    "bp_critical_low": {
        "en": "Your blood pressure is very low. Lie down and measure again. Call emergency services if you "
        "faint, feel confused or have chest pain.",
        "es": "Su presión arterial está muy baja. Acuéstese y vuelva a medir. Llame a emergencias si se desmaya, "
        "se siente confundido o tiene dolor en el pecho.",
        "pt-BR": "Sua pressão arterial está muito baixa. Deite-se e meça de novo. Ligue para a emergência se "
        "desmaiar, ficar confuso ou tiver dor no peito.",
        "zh-CN": "您的血压非常低。请躺下后复测。如晕倒、意识混乱或胸痛，请立即拨打急救电话。",
    },
    "pulse_abnormal": {
        "en": "Your pulse is outside the usual range. Rest and measure again; tell your care team if it continues.",
        "es": "Su pulso está fuera del rango habitual. Descanse y vuelva a medir; avise a su equipo de cuidado si "
        "continúa.",
        "pt-BR": "Seu pulso está fora da faixa habitual. Descanse e meça de novo; avise sua equipe de cuidado se "
        "continuar.",
        "zh-CN": "您的脉搏超出常见范围。请休息后复测；如持续异常，请告知您的护理团队。",
    },
    "pulse_critical": {
        "en": "Your pulse is outside a safe range. Rest and measure again, and contact your care team now. Call "
        "emergency services if you feel faint or have chest pain.",
        "es": "Su pulso está fuera de un rango seguro. Descanse, vuelva a medir y contacte ahora a su equipo de "
        "cuidado. Llame a emergencias si siente que se desmaya o tiene dolor en el pecho.",
        "pt-BR": "Seu pulso está fora de uma faixa segura. Descanse, meça de novo e fale agora com sua equipe de "
        "cuidado. Ligue para a emergência se sentir desmaio ou dor no peito.",
        "zh-CN": "您的脉搏超出安全范围。请休息后复测，并立即联系您的护理团队。如感到要晕倒或胸痛，请立即拨打急救电话。",
    },
}

LANGUAGES = ("en", "es", "zh-CN", "pt-BR")


def guidance(key: str, language: str) -> str:
    texts = GUIDANCE[key]
    return texts.get(language) or texts["en"]
